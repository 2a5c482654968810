import { describe, expect, it } from 'vitest';
import { rootImageFormat, validateBootResource, type BootResourceFile } from './boot-resource.ts';

const file = (over: Partial<BootResourceFile>): BootResourceFile => ({
  role: 'root-image',
  sha256: 'a'.repeat(64),
  sizeBytes: 1,
  name: 'root',
  ...over,
});

describe('rootImageFormat', () => {
  it.each([
    ['recorded format wins', file({ name: 'root.img', format: 'tar' }), 'tar'],
    [
      'squashfs role (rows from before the field)',
      file({ role: 'squashfs', name: 'x' }),
      'squashfs',
    ],
    ['*.squashfs', file({ name: 'root.squashfs' }), 'squashfs'],
    ['*.tar.zst', file({ name: 'root.tar.zst' }), 'tar'],
    ['*.tgz', file({ name: 'ROOT.TGZ' }), 'tar'],
    ['*.img', file({ name: 'disk.img' }), 'raw'],
    ['*.raw.xz', file({ name: 'disk.raw.xz' }), 'raw'],
    ['a name that says nothing', file({ name: 'root' }), undefined],
    ['kernels have none', file({ role: 'kernel', name: 'vmlinuz.img' }), undefined],
  ])('%s', (_, f, expected) => {
    expect(rootImageFormat(f)).toBe(expected);
  });
});

describe('validateBootResource', () => {
  const base = [
    file({ role: 'kernel', name: 'vmlinuz' }),
    file({ role: 'initrd', name: 'initrd' }),
  ];
  it('accepts a root image whose name tells its format', () => {
    expect(
      validateBootResource({ files: [...base, file({ name: 'r.tar.gz' })], kernelParams: '' }),
    ).toEqual([]);
  });
  it('refuses a root image of unknown layout and a format on a kernel', () => {
    const problems = validateBootResource({
      files: [
        file({ role: 'kernel', name: 'vmlinuz', format: 'raw' }),
        base[1] ?? file({}),
        file({}),
      ],
      kernelParams: '',
    });
    expect(problems).toEqual([
      'kernel: only root files (squashfs, root-image) have a format',
      'root-image: give its format (squashfs, tar or raw) or a name that says it (root)',
    ]);
  });
});
