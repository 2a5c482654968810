/** Uploads image files to a controller's image store and registers images over them, as `ingot images import` does. */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { api } from './api.ts';

/** One file of an image to register. */
export interface ImageFileSpec {
  readonly role: string;
  readonly path: string;
  readonly name: string;
}

/** What {@link registerImageFiles} stored, per file. */
export interface RegisteredFile extends ImageFileSpec {
  readonly sha256: string;
  readonly size: number;
}

/**
 * Uploads each file (`PUT /api/v1/images/files/<sha256>`) and registers `os/release/amd64` over
 * them. Throws with the controller's answer when either step fails.
 */
export async function registerImageFiles(
  url: string,
  adminKey: string,
  image: {
    os: string;
    release: string;
    files: readonly ImageFileSpec[];
    kernelParams?: string;
  },
): Promise<RegisteredFile[]> {
  const files = image.files.map((f) => {
    const bytes = readFileSync(f.path);
    return {
      ...f,
      bytes,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      size: statSync(f.path).size,
    };
  });
  for (const f of files) {
    // Upload only what the store lacks, as `ingot images import` does.
    const head = await fetch(`${url}/api/v1/images/files/${f.sha256}`, {
      method: 'HEAD',
      headers: { authorization: `Bearer ${adminKey}` },
    });
    if (head.status === 200) continue;
    const res = await put(`${url}/api/v1/images/files/${f.sha256}`, adminKey, f.bytes).catch(
      (e: unknown) => {
        throw new Error(`upload of ${f.name} (${f.size} bytes) to ${url}: ${String(e)}`);
      },
    );
    if (res.status >= 300) throw new Error(`upload of ${f.name}: ${res.status} ${res.text}`);
  }
  const r = await api(url, adminKey, 'POST', '/api/v1/images', {
    os: image.os,
    release: image.release,
    arch: 'amd64',
    files: files.map((f) => ({ role: f.role, sha256: f.sha256, size_bytes: f.size, name: f.name })),
    kernel_params: image.kernelParams ?? '',
  });
  if (r.status !== 201)
    throw new Error(`image ${image.os}/${image.release}: ${JSON.stringify(r.body)}`);
  return files.map((f) => ({
    role: f.role,
    path: f.path,
    name: f.name,
    sha256: f.sha256,
    size: f.size,
  }));
}

/**
 * PUT with node:http rather than fetch: when the server answers before the body is sent (a
 * refusal), fetch reports only "other side closed"; this returns the answer.
 */
function put(url: string, key: string, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(url),
      {
        method: 'PUT',
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/octet-stream',
          'content-length': body.length,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
