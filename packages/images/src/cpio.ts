/**
 * A newc ("new ASCII", magic `070701`) cpio writer: the format the Linux kernel unpacks as an
 * initramfs (Documentation/driver-api/early-userspace/buffer-format.rst).
 *
 * ```
 *  offset  size  field (8 hex digits each after the magic)
 *  0       6     magic "070701"
 *  6       8     c_ino        14  8  c_mode      22  8  c_uid      30  8  c_gid
 *  38      8     c_nlink      46  8  c_mtime     54  8  c_filesize
 *  62      8     c_devmajor   70  8  c_devminor  78  8  c_rdevmajor 86  8  c_rdevminor
 *  94      8     c_namesize (with the NUL)       102 8  c_check (0 for newc)
 *  110     name + NUL, padded to 4 bytes; then the data, padded to 4 bytes
 * ```
 *
 * Written here rather than with `cpio` so that device nodes need no root and the archive is
 * byte-for-byte reproducible: uid/gid 0, mtime 0, inode numbers by position.
 */

/** One entry of a newc cpio archive. */
export interface CpioEntry {
  /** Path inside the archive, relative (`bin/busybox`), no leading `/`. */
  readonly path: string;
  /** Full st_mode, file type bits included (`S_IFREG | 0o755`). */
  readonly mode: number;
  /** File contents, or the link target of a symlink. */
  readonly data?: Uint8Array;
  readonly rdevMajor?: number;
  readonly rdevMinor?: number;
}

/** st_mode file type bits (POSIX `<sys/stat.h>`). */
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;

const TRAILER = 'TRAILER!!!';

/**
 * Encodes `entries` in order, followed by the `TRAILER!!!` entry.
 *
 * @throws when a path is empty, absolute, or a field does not fit in 32 bits (a bug in the caller).
 */
export function encodeCpio(entries: readonly CpioEntry[]): Buffer {
  const chunks: Buffer[] = [];
  let offset = 0;
  const push = (b: Buffer): void => {
    chunks.push(b);
    offset += b.length;
  };
  const pad4 = (): void => {
    const n = (4 - (offset % 4)) % 4;
    if (n > 0) push(Buffer.alloc(n));
  };
  const hex = (n: number): string => {
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`cpio field ${n}`);
    return n.toString(16).padStart(8, '0');
  };
  const all: CpioEntry[] = [...entries, { path: TRAILER, mode: 0 }];
  all.forEach((e, index) => {
    if (e.path === '' || e.path.startsWith('/')) throw new Error(`cpio path "${e.path}"`);
    const data = Buffer.from(e.data ?? new Uint8Array(0));
    const name = Buffer.from(`${e.path}\0`);
    const header =
      '070701' +
      hex(e.path === TRAILER ? 0 : index + 1) + // ino
      hex(e.mode) +
      hex(0) + // uid
      hex(0) + // gid
      hex((e.mode & 0o170000) === S_IFDIR ? 2 : 1) + // nlink
      hex(0) + // mtime
      hex(data.length) +
      hex(0) + // devmajor
      hex(0) + // devminor
      hex(e.rdevMajor ?? 0) +
      hex(e.rdevMinor ?? 0) +
      hex(name.length) +
      hex(0); // check
    push(Buffer.from(header, 'latin1'));
    push(name);
    pad4();
    push(data);
    pad4();
  });
  return Buffer.concat(chunks);
}

/** Builds a cpio tree in order, adding each parent directory (mode 0755) before its children. */
export interface CpioTree {
  dir(path: string, mode?: number): CpioTree;
  file(path: string, data: Uint8Array, mode?: number): CpioTree;
  symlink(path: string, target: string): CpioTree;
  charDevice(path: string, major: number, minor: number, mode?: number): CpioTree;
  /** The entries so far, parents first. */
  entries(): readonly CpioEntry[];
  /** {@link encodeCpio} of the entries. */
  encode(): Buffer;
}

/**
 * Creates an empty {@link CpioTree}.
 *
 * @throws (from its methods) when a path is added twice: the kernel would keep the last one,
 *   which hides mistakes.
 */
export function createCpioTree(): CpioTree {
  const entries: CpioEntry[] = [];
  const seen = new Set<string>();
  const parents = (path: string): void => {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!seen.has(d)) {
        seen.add(d);
        entries.push({ path: d, mode: S_IFDIR | 0o755 });
      }
    }
  };
  const add = (entry: CpioEntry): void => {
    const path = entry.path.replace(/^\/+|\/+$/g, '');
    if (seen.has(path)) throw new Error(`cpio: ${path} added twice`);
    parents(path);
    seen.add(path);
    entries.push({ ...entry, path });
  };
  const tree: CpioTree = {
    dir(path, mode = 0o755) {
      const clean = path.replace(/^\/+|\/+$/g, '');
      if (!seen.has(clean)) add({ path: clean, mode: S_IFDIR | mode });
      return tree;
    },
    file(path, data, mode = 0o644) {
      add({ path, mode: S_IFREG | mode, data });
      return tree;
    },
    symlink(path, target) {
      add({ path, mode: S_IFLNK | 0o777, data: Buffer.from(target) });
      return tree;
    },
    charDevice(path, major, minor, mode = 0o600) {
      add({ path, mode: S_IFCHR | mode, rdevMajor: major, rdevMinor: minor });
      return tree;
    },
    entries: () => entries,
    encode: () => encodeCpio(entries),
  };
  return tree;
}

/**
 * Decodes a newc archive (for tests and checks of built initramfs images).
 *
 * @throws on a malformed archive.
 */
export function decodeCpio(bytes: Uint8Array): CpioEntry[] {
  const buf = Buffer.from(bytes);
  const out: CpioEntry[] = [];
  let at = 0;
  const align = (n: number): number => (n + 3) & ~3;
  for (;;) {
    if (at + 110 > buf.length) throw new Error(`cpio: truncated header at ${at}`);
    const header = buf.toString('latin1', at, at + 110);
    if (!header.startsWith('070701')) throw new Error(`cpio: bad magic at ${at}`);
    const field = (i: number): number => parseInt(header.slice(6 + i * 8, 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    const nameStart = at + 110;
    const path = buf.toString('utf8', nameStart, nameStart + nameSize - 1);
    const dataStart = align(nameStart + nameSize);
    if (dataStart + size > buf.length) throw new Error(`cpio: truncated data of ${path}`);
    if (path === TRAILER) return out;
    out.push({
      path,
      mode,
      data: buf.subarray(dataStart, dataStart + size),
      rdevMajor: field(9),
      rdevMinor: field(10),
    });
    at = align(dataStart + size);
  }
}
