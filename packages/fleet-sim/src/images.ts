/**
 * The fleet's images: Ingot's ephemeral environment (`ingot/ephemeral`: kernel, initrd,
 * squashfs) and the deployed image (`fleet/sim`: kernel, initrd, root image), made of random
 * bytes of configurable sizes — simulated machines hash what they fetch but never run it —
 * uploaded and registered through the API as `ingot images import` does.
 */
import { createHash, randomBytes } from 'node:crypto';
import { callApi, type ControllerRef } from './api-client.ts';

/** File sizes in bytes. */
export interface ImageSizes {
  readonly kernel: number;
  readonly initrd: number;
  readonly squashfs: number;
  readonly rootImage: number;
}

/** Defaults: small enough for 1,000 machines on 2 cores, big enough to take many TCP segments. */
export const DEFAULT_IMAGE_SIZES: ImageSizes = {
  kernel: 256 * 1024,
  initrd: 512 * 1024,
  squashfs: 1024 * 1024,
  rootImage: 2 * 1024 * 1024,
};

/** A registered image. */
export interface FleetImage {
  readonly os: string;
  readonly release: string;
}

/** Uploads and registers both images unless the controller has them already. */
export async function ensureImages(
  controllers: readonly ControllerRef[],
  adminKey: string,
  _work: string,
  sizes: Partial<ImageSizes> = {},
): Promise<FleetImage[]> {
  const s = { ...DEFAULT_IMAGE_SIZES, ...sizes };
  const existing = await callApi<{ os: string; release: string }[]>(
    controllers,
    adminKey,
    'GET',
    '/api/v1/images',
  );
  const has = (os: string, release: string): boolean =>
    existing.body.some((i) => i.os === os && i.release === release);
  const kernel = randomBytes(s.kernel);
  const initrd = randomBytes(s.initrd);
  const specs = [
    {
      os: 'ingot',
      release: 'ephemeral',
      files: [
        { role: 'kernel', name: 'vmlinuz', bytes: kernel },
        { role: 'initrd', name: 'initrd.img', bytes: initrd },
        { role: 'squashfs', name: 'ephemeral.squashfs', bytes: randomBytes(s.squashfs) },
      ],
    },
    {
      os: 'fleet',
      release: 'sim',
      files: [
        { role: 'kernel', name: 'vmlinuz', bytes: kernel },
        { role: 'initrd', name: 'initrd.img', bytes: initrd },
        { role: 'root-image', name: 'root.squashfs', bytes: randomBytes(s.rootImage) },
      ],
    },
  ];
  for (const spec of specs) {
    if (has(spec.os, spec.release)) continue;
    const files = spec.files.map((f) => ({
      ...f,
      sha256: createHash('sha256').update(f.bytes).digest('hex'),
    }));
    for (const f of files) {
      const url = `${controllers[0]?.url ?? ''}/api/v1/images/files/${f.sha256}`;
      // Upload only what the store lacks (an existing file is answered before its body is read).
      const head = await fetch(url, {
        method: 'HEAD',
        headers: { authorization: `Bearer ${adminKey}` },
      });
      if (head.status === 200) continue;
      const res = await fetch(url, {
        method: 'PUT',
        headers: {
          authorization: `Bearer ${adminKey}`,
          'content-type': 'application/octet-stream',
        },
        body: f.bytes,
      });
      if (res.status !== 201 && res.status !== 200)
        throw new Error(`upload ${f.name}: ${res.status} ${await res.text()}`);
    }
    const r = await callApi(controllers, adminKey, 'POST', '/api/v1/images', {
      os: spec.os,
      release: spec.release,
      arch: 'amd64',
      files: files.map((f) => ({
        role: f.role,
        sha256: f.sha256,
        size_bytes: f.bytes.length,
        name: f.name,
      })),
      kernel_params: '',
    });
    if (r.status !== 201)
      throw new Error(`image ${spec.os}/${spec.release}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  return specs.map((s2) => ({ os: s2.os, release: s2.release }));
}
