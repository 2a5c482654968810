import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildCached, cachedImageDir, cacheKey, type CacheInputs } from './cache.ts';

const base: CacheInputs = {
  builder: 'ingot/tiny/amd64',
  formatVersion: 1,
  packages: {
    'busybox-static': '1:1.35.0-4+deb12u1+b1',
    'linux-image-6.1.0-56-amd64': '6.1.192-2',
  },
  files: { 'tiny/init': '#!/bin/sh\n', 'initramfs/init': Buffer.from('#!/bin/sh\necho\n') },
  settings: { suite: 'bookworm' },
};

describe('cacheKey', () => {
  it('is a sha256 that ignores key order', () => {
    const key = cacheKey(base);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(
      cacheKey({
        ...base,
        packages: Object.fromEntries(Object.entries(base.packages).reverse()),
        files: Object.fromEntries(Object.entries(base.files).reverse()),
      }),
    ).toBe(key);
  });

  const changes: Record<string, Partial<CacheInputs>> = {
    'a package version': { packages: { ...base.packages, 'busybox-static': '1:1.36.0-1' } },
    'a package added': { packages: { ...base.packages, jq: '1.6-2.1' } },
    'a script byte': { files: { ...base.files, 'tiny/init': '#!/bin/sh \n' } },
    'bytes moved between files': {
      files: { 'tiny/init': '#!/bin/sh\n#', 'initramfs/init': '!/bin/sh\necho\n' },
    },
    'the format version': { formatVersion: 2 },
    'the builder': { builder: 'ingot/ephemeral/amd64' },
    'a setting': { settings: { suite: 'trixie' } },
  };
  it.each(Object.entries(changes))('changes with %s', (_, change) => {
    expect(cacheKey({ ...base, ...change })).not.toBe(cacheKey(base));
  });
});

describe('buildCached', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('builds once, then hits; never leaves scratch directories', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ingot-cache-'));
    let builds = 0;
    const build = (out: string): Promise<void> => {
      builds++;
      writeFileSync(join(out, 'vmlinuz'), 'k');
      writeFileSync(join(out, 'manifest.json'), '{}');
      return Promise.resolve();
    };
    const first = await buildCached({
      cacheDir: dir,
      name: 'ingot/tiny/amd64',
      key: 'ab'.repeat(32),
      build,
    });
    expect(first).toEqual({
      dir: cachedImageDir(dir, 'ingot/tiny/amd64', 'ab'.repeat(32)),
      built: true,
    });
    expect(first.dir.endsWith('/ingot-tiny-amd64-abababababababab')).toBe(true);
    const second = await buildCached({
      cacheDir: dir,
      name: 'ingot/tiny/amd64',
      key: 'ab'.repeat(32),
      build,
    });
    expect(second.built).toBe(false);
    expect(builds).toBe(1);
    expect(readdirSync(dir)).toEqual(['ingot-tiny-amd64-abababababababab']);
  });

  it('lets concurrent builders of one key end with one complete directory', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ingot-cache-'));
    const build =
      (tag: string) =>
      async (out: string): Promise<void> => {
        writeFileSync(join(out, 'who'), tag);
        await new Promise((r) => setTimeout(r, 20));
        writeFileSync(join(out, 'manifest.json'), '{}');
      };
    const results = await Promise.all(
      ['a', 'b', 'c'].map((tag) =>
        buildCached({ cacheDir: dir, name: 'x/y/z', key: 'cd'.repeat(32), build: build(tag) }),
      ),
    );
    expect(results.filter((r) => r.built)).toHaveLength(1);
    expect(new Set(results.map((r) => r.dir)).size).toBe(1);
    expect(['a', 'b', 'c']).toContain(readFileSync(join(results[0]!.dir, 'who'), 'utf8'));
    expect(readdirSync(dir)).toEqual(['x-y-z-cdcdcdcdcdcdcdcd']);
  });

  it('removes its scratch space when the build fails or writes no manifest', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ingot-cache-'));
    await expect(
      buildCached({
        cacheDir: dir,
        name: 'x/y/z',
        key: 'ef'.repeat(32),
        build: () => Promise.reject(new Error('apt failed')),
      }),
    ).rejects.toThrow('apt failed');
    await expect(
      buildCached({
        cacheDir: dir,
        name: 'x/y/z',
        key: 'ef'.repeat(32),
        build: () => Promise.resolve(),
      }),
    ).rejects.toThrow(/no manifest/);
    expect(readdirSync(dir)).toEqual([]);
    expect(existsSync(cachedImageDir(dir, 'x/y/z', 'ef'.repeat(32)))).toBe(false);
  });
});
