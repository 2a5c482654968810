/**
 * The stand-in image the resilience scenarios deploy: small files uploaded to the controller and
 * registered as debian/bookworm/amd64 and Ingot's ephemeral environment (a disk deploy boots
 * it). Simulated machines fetch nothing from it; the controller only registers images whose files
 * it holds. Without vitest's `expect`, so the `e2e:chaos` script can use it.
 */
import { createHash } from 'node:crypto';
import { api } from './api.ts';

/** The bytes {@link registerStandInImage} uploads for a file name (`vmlinuz` …). */
export function standInBytes(name: string): Buffer {
  return Buffer.from(`stand-in ${name}\n`);
}

/** sha256 (hex) of {@link standInBytes}. */
export function standInSha256(name: string): string {
  return createHash('sha256').update(standInBytes(name)).digest('hex');
}

/** Uploads the stand-in files and registers both images. Throws on any refusal. */
export async function registerStandInImage(url: string, adminKey: string): Promise<void> {
  const file = async (role: string, name: string): Promise<Record<string, unknown>> => {
    const bytes = standInBytes(name);
    const sha256 = standInSha256(name);
    const res = await fetch(`${url}/api/v1/images/files/${sha256}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    if (res.status >= 300)
      throw new Error(`upload ${name}: ${String(res.status)} ${await res.text()}`);
    return { role, sha256, size_bytes: bytes.length, name };
  };
  for (const [os, release, prefix] of [
    ['debian', 'bookworm', ''],
    ['ingot', 'ephemeral', 'ephemeral-'],
  ] as const) {
    const r = await api(url, adminKey, 'POST', '/api/v1/images', {
      os,
      release,
      arch: 'amd64',
      files: [
        await file('kernel', `${prefix}vmlinuz`),
        await file('initrd', `${prefix}initrd.img`),
        await file('squashfs', `${prefix}root.squashfs`),
      ],
    });
    if (r.status !== 201) throw new Error(`image ${os}/${release}: ${JSON.stringify(r.body)}`);
  }
}
