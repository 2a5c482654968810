import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { classifyImageDir, classifyName } from './image-files.ts';
import { createProgress } from './progress.ts';

describe('classifyName', () => {
  it.each([
    ['vmlinuz-6.1.0-28-amd64', { role: 'kernel' }],
    ['bzImage', { role: 'kernel' }],
    ['initrd.img-6.1.0-28-amd64', { role: 'initrd' }],
    ['initramfs.cpio.gz', { role: 'initrd' }],
    ['ephemeral.squashfs', { role: 'squashfs', format: 'squashfs' }],
    ['root.squashfs', { role: 'root-image', format: 'squashfs' }],
    ['root.tar.zst', { role: 'root-image', format: 'tar' }],
    ['custom.tgz', { role: 'root-image', format: 'tar' }],
    ['disk.img', { role: 'root-image', format: 'raw' }],
    ['disk.raw.gz', { role: 'root-image', format: 'raw' }],
    ['README.md', undefined],
    ['manifest.json', undefined],
  ])('%s', (name, expected) => {
    expect(classifyName(name)).toEqual(expected);
  });
});

describe('classifyImageDir', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'classify-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('finds kernel, initrd and a root/ tree', async () => {
    writeFileSync(join(dir, 'vmlinuz'), 'k');
    writeFileSync(join(dir, 'initrd.img'), 'i');
    mkdirSync(join(dir, 'root'));
    const c = await classifyImageDir(dir);
    expect(c.files.map((f) => [f.name, f.role])).toEqual([
      ['initrd.img', 'initrd'],
      ['vmlinuz', 'kernel'],
    ]);
    expect(c.rootTree).toBe(join(dir, 'root'));
  });

  it('refuses two root images, naming them', async () => {
    writeFileSync(join(dir, 'a.img'), 'a');
    writeFileSync(join(dir, 'b.tar.gz'), 'b');
    await expect(classifyImageDir(dir)).rejects.toThrow(
      /more than one root-image file \(a\.img, b\.tar\.gz\)/,
    );
  });

  it('reads manifest.json', async () => {
    writeFileSync(join(dir, 'k'), 'k');
    writeFileSync(
      join(dir, 'manifest.json'),
      JSON.stringify({
        os: 'ingot',
        release: 'tiny',
        arch: 'amd64',
        kernel_params: 'quiet',
        files: [{ name: 'k', role: 'kernel', sha256: 'x', size_bytes: 1 }],
      }),
    );
    const c = await classifyImageDir(dir);
    expect(c.manifest).toEqual({
      os: 'ingot',
      release: 'tiny',
      arch: 'amd64',
      kernel_params: 'quiet',
    });
    expect(c.files).toEqual([
      { path: join(dir, 'k'), name: 'k', role: 'kernel', format: undefined },
    ]);
  });
});

describe('createProgress', () => {
  it('prints plain lines at each tenth and at the end when not on a terminal', () => {
    const lines: string[] = [];
    let now = 0;
    const p = createProgress(
      'root.squashfs',
      10 * 1024 * 1024,
      { write: (t: string) => lines.push(t) },
      () => now,
    );
    for (let i = 0; i < 10; i++) {
      now += 100;
      p.add(1024 * 1024);
    }
    p.done();
    expect(lines).toHaveLength(10);
    expect(lines[0]).toBe('root.squashfs: 1.0 MiB / 10.0 MiB  10%  10.5 MB/s\n');
    expect(lines.at(-1)).toBe('root.squashfs: 10.0 MiB / 10.0 MiB  100%  10.5 MB/s\n');
  });

  it('redraws one line in place on a terminal', () => {
    const out: string[] = [];
    let now = 0;
    const p = createProgress(
      'k',
      100,
      { write: (t: string) => out.push(t), isTTY: true },
      () => now,
    );
    now = 1000;
    p.add(50);
    p.done();
    expect(out).toEqual([
      '\r\x1b[Kk: 50 B / 100 B  50%  0.0 MB/s',
      '\r\x1b[Kk: 50 B / 100 B  50%  0.0 MB/s\n',
    ]);
  });
});
