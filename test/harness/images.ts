/** Uploads image files to a controller's image store and registers images over them, as `ingot images import` does. */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
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
    const res = await fetch(`${url}/api/v1/images/files/${f.sha256}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/octet-stream' },
      body: f.bytes,
    });
    if (res.status >= 300)
      throw new Error(`upload of ${f.name}: ${res.status} ${await res.text()}`);
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
