import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  decodeManifest,
  describeFile,
  readManifestFile,
  writeManifest,
  type ImageManifest,
} from './manifest.ts';

const sha = (c: string): string => c.repeat(64);
const good: ImageManifest = {
  format_version: 1,
  name: 'ingot/tiny/amd64',
  os: 'ingot',
  release: 'tiny',
  arch: 'amd64',
  kernel_params: 'console=ttyS0,115200',
  files: [
    { name: 'vmlinuz', role: 'kernel', sha256: sha('a'), size_bytes: 10 },
    { name: 'initrd.img', role: 'initrd', sha256: sha('b'), size_bytes: 20 },
    {
      name: 'root.squashfs',
      role: 'root-image',
      format: 'squashfs',
      sha256: sha('c'),
      size_bytes: 30,
    },
  ],
  cache_key: sha('d'),
  kernel_release: '6.1.0-56-amd64',
  packages: { 'busybox-static': '1:1.35.0-4+deb12u1+b1' },
};

describe('decodeManifest', () => {
  it('accepts a complete manifest', () => {
    expect(decodeManifest(JSON.parse(JSON.stringify(good)))).toEqual({ ok: true, value: good });
  });

  const cases: Record<string, [unknown, RegExp]> = {
    'not an object': [[], /not a JSON object/],
    'name not os/release/arch': [{ ...good, name: 'ingot/tiny' }, /os\/release\/arch/],
    'no initrd': [
      { ...good, files: good.files.filter((f) => f.role !== 'initrd') },
      /kernel and an initrd/,
    ],
    'two kernels': [{ ...good, files: [...good.files, good.files[0]] }, /more than one kernel/],
    'upper-case sha256': [
      { ...good, files: [{ ...good.files[0]!, sha256: sha('A') }, ...good.files.slice(1)] },
      /64 lower-case hex/,
    ],
    'unknown role': [
      { ...good, files: [...good.files, { ...good.files[0]!, role: 'firmware' }] },
      /role/,
    ],
    'root image without format': [
      {
        ...good,
        files: [
          ...good.files.slice(0, 2),
          { name: 'root.img', role: 'root-image', sha256: sha('c'), size_bytes: 1 },
        ],
      },
      /needs a format/,
    ],
    'path in a name': [
      { ...good, files: [{ ...good.files[0]!, name: '../vmlinuz' }, ...good.files.slice(1)] },
      /plain file name/,
    ],
    'fractional size': [
      { ...good, files: [{ ...good.files[0]!, size_bytes: 1.5 }, ...good.files.slice(1)] },
      /whole number/,
    ],
  };
  it.each(Object.entries(cases))('refuses %s', (_, [raw, problem]) => {
    const r = decodeManifest(raw);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.problems.join('; ')).toMatch(problem);
  });
});

describe('describeFile + writeManifest', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('hashes files and writes a manifest readManifestFile accepts', () => {
    dir = mkdtempSync(join(tmpdir(), 'ingot-manifest-'));
    writeFileSync(join(dir, 'vmlinuz'), 'abc');
    writeFileSync(join(dir, 'initrd.img'), '');
    const kernel = describeFile(dir, 'vmlinuz', 'kernel');
    expect(kernel).toEqual({
      name: 'vmlinuz',
      role: 'kernel',
      // sha256("abc"), FIPS 180-2 appendix B.1
      sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      size_bytes: 3,
    });
    writeManifest(dir, { ...good, files: [kernel, describeFile(dir, 'initrd.img', 'initrd')] });
    expect(readManifestFile(dir).files.map((f) => f.size_bytes)).toEqual([3, 0]);
  });
});
