import { describe, expect, it } from 'vitest';
import {
  createCpioTree,
  decodeCpio,
  encodeCpio,
  S_IFCHR,
  S_IFDIR,
  S_IFLNK,
  S_IFREG,
} from './cpio.ts';

describe('encodeCpio', () => {
  it('writes a newc header, the name padded to 4 bytes, the data padded to 4 bytes', () => {
    const bytes = encodeCpio([{ path: 'init', mode: S_IFREG | 0o755, data: Buffer.from('hi!') }]);
    // prettier-ignore
    const header =
      '070701' +
      '00000001' + // ino: position
      '000081ed' + // mode: S_IFREG | 0755
      '00000000' + '00000000' + // uid, gid
      '00000001' + // nlink
      '00000000' + // mtime
      '00000003' + // filesize
      '00000000' + '00000000' + // devmajor, devminor
      '00000000' + '00000000' + // rdevmajor, rdevminor
      '00000005' + // namesize: "init\0"
      '00000000'; // check
    expect(bytes.toString('latin1', 0, 110)).toBe(header);
    // 110 + 5 = 115 → padded to 116; data 3 → padded to 120; then the trailer.
    expect(bytes.toString('latin1', 110, 115)).toBe('init\0');
    expect(bytes.toString('latin1', 116, 119)).toBe('hi!');
    expect(bytes[119]).toBe(0);
    expect(bytes.toString('latin1', 120, 126)).toBe('070701');
    expect(bytes.toString('latin1', 120 + 110, 120 + 110 + 10)).toBe('TRAILER!!!');
    expect(bytes.length % 4).toBe(0);
  });

  it('is reproducible and round-trips through decodeCpio', () => {
    const tree = createCpioTree()
      .file('bin/busybox', Buffer.from([0x7f, 0x45, 0x4c, 0x46]), 0o755)
      .symlink('bin/sh', 'busybox')
      .charDevice('dev/console', 5, 1)
      .file('lib/modules/kernel/fs/ext4/ext4.ko', Buffer.alloc(5, 1));
    const a = tree.encode();
    expect(a.equals(tree.encode())).toBe(true);
    const decoded = decodeCpio(a);
    expect(decoded.map((e) => e.path)).toEqual([
      'bin',
      'bin/busybox',
      'bin/sh',
      'dev',
      'dev/console',
      'lib',
      'lib/modules',
      'lib/modules/kernel',
      'lib/modules/kernel/fs',
      'lib/modules/kernel/fs/ext4',
      'lib/modules/kernel/fs/ext4/ext4.ko',
    ]);
    const byPath = new Map(decoded.map((e) => [e.path, e]));
    expect(byPath.get('bin')?.mode).toBe(S_IFDIR | 0o755);
    expect(byPath.get('bin/sh')?.mode).toBe(S_IFLNK | 0o777);
    expect(Buffer.from(byPath.get('bin/sh')?.data ?? []).toString()).toBe('busybox');
    expect(byPath.get('dev/console')).toMatchObject({
      mode: S_IFCHR | 0o600,
      rdevMajor: 5,
      rdevMinor: 1,
    });
    expect(Buffer.from(byPath.get('lib/modules/kernel/fs/ext4/ext4.ko')?.data ?? [])).toEqual(
      Buffer.alloc(5, 1),
    );
  });

  it('refuses absolute paths and a path added twice', () => {
    expect(() => encodeCpio([{ path: '/init', mode: S_IFREG }])).toThrow(/cpio path/);
    expect(() =>
      createCpioTree().file('init', Buffer.from('a')).file('init', Buffer.from('b')),
    ).toThrow(/added twice/);
  });

  it('is what Debian cpio reads back', async () => {
    const { runCommand } = await import('@ingot/lab/command.ts');
    const archive = createCpioTree()
      .file('etc/motd', Buffer.from('hello\n'))
      .symlink('x', 'etc/motd')
      .encode();
    const probe = await runCommand('sh', ['-c', 'command -v cpio || true']);
    if (probe.stdout.trim() === '') {
      // busybox cpio lists newc archives just as well.
      const listed = await runCommand('busybox', ['cpio', '-t'], { input: archive });
      expect(listed.stdout.split('\n').filter(Boolean)).toEqual(['etc', 'etc/motd', 'x']);
      return;
    }
    const listed = await runCommand('cpio', ['-t', '--quiet'], { input: archive });
    expect(listed.stdout.split('\n').filter(Boolean)).toEqual(['etc', 'etc/motd', 'x']);
  });
});
