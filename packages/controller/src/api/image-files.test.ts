import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createServiceFixture,
  createTestApi,
  readJson,
  type FixtureUser,
  type ServiceFixture,
} from '../testing/index.ts';
import type { ApiApp } from './context.ts';

const F = '/api/v1/images/files/';
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

let f: ServiceFixture;
let api: ApiApp;
let logLines: string[];
let alice: FixtureUser;
let rackAuth: string;
/** 10 000 bytes: larger than the test API's 4096-byte body limit. */
let bytes: Uint8Array;
let hash: string;

beforeEach(async () => {
  f = await createServiceFixture();
  ({ api, logLines } = createTestApi(f));
  alice = await f.addUser('alice');
  const { rack, secret } = await f.enrollRack();
  rackAuth = `Rack ${rack.id}:${secret}`;
  bytes = new Uint8Array(randomBytes(10_000));
  hash = sha(bytes);
});

afterEach(async () => {
  expect(logLines).toEqual([]);
  await f.close();
});

function put(sha256: string, body: Uint8Array, auth = `Bearer ${f.admin.apiKey}`) {
  return api.request(F + sha256, {
    method: 'PUT',
    body,
    headers: { authorization: auth, 'content-type': 'application/octet-stream' },
  });
}

function get(sha256: string, headers: Record<string, string> = {}, method = 'GET') {
  return api.request(F + sha256, {
    method,
    headers: { authorization: `Bearer ${f.admin.apiKey}`, ...headers },
  });
}

describe('upload', () => {
  it('stores a file under its sha256 once, past the body limit, then answers 200', async () => {
    const first = await put(hash, bytes);
    expect(first.status).toBe(201);
    expect(first.headers.get('etag')).toBe(`"${hash}"`);
    expect(readdirSync(f.blobDir)).toContain(hash);
    const again = await put(hash, bytes);
    expect(again.status).toBe(200);
    const got = await get(hash);
    expect(got.status).toBe(200);
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(bytes);
  });

  it('refuses bytes that hash to another name with 422 and keeps nothing', async () => {
    const wrong = 'f'.repeat(64);
    const r = await put(wrong, bytes);
    expect(r.status).toBe(422);
    expect(r.headers.get('content-type')).toBe('application/problem+json');
    const body = await readJson<{ type: string; actual_sha256: string; detail: string }>(r);
    expect(body.type).toMatch(/digest-mismatch$/);
    expect(body.actual_sha256).toBe(hash);
    expect((await get(wrong)).status).toBe(404);
    expect(existsSync(join(f.blobDir, wrong))).toBe(false);
    expect(readdirSync(join(f.blobDir, '.tmp'))).toEqual([]);
  });

  it('needs an admin: users get 403, racks and anonymous callers 401', async () => {
    expect((await put(hash, bytes, `Bearer ${alice.apiKey}`)).status).toBe(403);
    expect((await put(hash, bytes, rackAuth)).status).toBe(401);
    expect((await put(hash, bytes, '')).status).toBe(401);
    expect(existsSync(join(f.blobDir, hash))).toBe(false);
  });

  it('rejects a malformed name', async () => {
    expect((await put('ABC', bytes)).status).toBe(400);
  });
});

describe('download', () => {
  beforeEach(async () => {
    expect((await put(hash, bytes)).status).toBe(201);
  });

  it('sends the whole file with length, ETag and Accept-Ranges; HEAD sends no body', async () => {
    const r = await get(hash);
    expect(r.headers.get('content-length')).toBe('10000');
    expect(r.headers.get('accept-ranges')).toBe('bytes');
    expect(r.headers.get('etag')).toBe(`"${hash}"`);
    const head = await get(hash, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('10000');
    expect((await head.arrayBuffer()).byteLength).toBe(0);
  });

  it.each([
    ['bytes=100-199', 100, 199],
    ['bytes=9000-', 9000, 9999],
    ['bytes=-10', 9990, 9999],
    ['bytes=9990-20000', 9990, 9999],
  ])('answers Range %s with 206 and exactly those bytes', async (range, start, end) => {
    const r = await get(hash, { range });
    expect(r.status).toBe(206);
    expect(r.headers.get('content-range')).toBe(`bytes ${start}-${end}/10000`);
    expect(r.headers.get('content-length')).toBe(String(end - start + 1));
    expect(new Uint8Array(await r.arrayBuffer())).toEqual(bytes.slice(start, end + 1));
  });

  it('answers a range past the end with 416 and the size', async () => {
    const r = await get(hash, { range: 'bytes=10000-' });
    expect(r.status).toBe(416);
    expect(r.headers.get('content-range')).toBe('bytes */10000');
  });

  it('sends everything when If-Range names another version', async () => {
    const r = await get(hash, { range: 'bytes=0-9', 'if-range': '"other"' });
    expect(r.status).toBe(200);
    expect((await r.arrayBuffer()).byteLength).toBe(10_000);
  });

  it('lets racks read with their credentials and refuses users and wrong secrets', async () => {
    const asRack = await get(hash, { authorization: rackAuth, range: 'bytes=0-0' });
    expect(asRack.status).toBe(206);
    const wrong = await get(hash, { authorization: rackAuth.replace(/.$/, '#') });
    expect(wrong.status).toBe(401);
    expect((await get(hash, { authorization: `Bearer ${alice.apiKey}` })).status).toBe(403);
    expect((await get(hash, { authorization: '' })).status).toBe(401);
    // Rack credentials open image files only.
    expect(
      (await api.request('/api/v1/machines', { headers: { authorization: rackAuth } })).status,
    ).toBe(401);
  });

  it('answers 404 for a file not stored', async () => {
    expect((await get('0'.repeat(64))).status).toBe(404);
  });
});

describe('images over stored files', () => {
  const image = (files: { role: string; sha256: string; size_bytes: number; name: string }[]) =>
    api.request('/api/v1/images', {
      method: 'POST',
      headers: { authorization: `Bearer ${f.admin.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ os: 'custom', release: 'one', arch: 'amd64', files }),
    });

  it('refuses to register files that are not uploaded, naming them, and accepts them after', async () => {
    const [kernel, initrd] = (await f.images.list())[0]?.files ?? [];
    if (kernel === undefined || initrd === undefined) throw new Error('no default image');
    const root = { role: 'root-image', sha256: hash, size_bytes: 10_000, name: 'root.tar.zst' };
    const files = [
      { role: 'kernel', sha256: kernel.sha256, size_bytes: kernel.sizeBytes, name: 'vmlinuz' },
      { role: 'initrd', sha256: initrd.sha256, size_bytes: initrd.sizeBytes, name: 'initrd' },
      root,
    ];
    const refused = await image(files);
    expect(refused.status).toBe(400);
    const problem = await readJson<{ detail: string }>(refused);
    expect(problem.detail).toContain(`root-image root.tar.zst (sha256 ${hash}) is not uploaded`);
    expect(problem.detail).not.toContain('vmlinuz');

    expect((await put(hash, bytes)).status).toBe(201);
    expect((await image([...files.slice(0, 2), { ...root, size_bytes: 9_999 }])).status).toBe(400);
    const created = await image(files);
    expect(created.status).toBe(201);
    const body = await readJson<{ id: string; files: { role: string; format: string | null }[] }>(
      created,
    );
    expect(body.files.find((x) => x.role === 'root-image')?.format).toBe('tar');

    // Deleting it removes the file only it used, and keeps the kernel the default image shares.
    const del = await api.request(`/api/v1/images/${body.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${f.admin.apiKey}` },
    });
    expect(del.status).toBe(204);
    expect((await get(hash)).status).toBe(404);
    expect((await get(kernel.sha256)).status).toBe(200);
  });
});
