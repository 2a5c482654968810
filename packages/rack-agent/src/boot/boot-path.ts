/**
 * The one place boot paths are normalised and checked (STYLE.md §2). TFTP filenames and HTTP
 * request targets both pass through {@link normaliseBootPath} before any route sees them, so a
 * traversal rule fixed here is fixed for both protocols.
 */
import { err, ok, type Result } from '@ingot/common';
import type { BootError } from './resolver.ts';

/** Longest accepted request path; PXE filenames are ≤ 128 bytes (DHCP `file`), URLs a bit more. */
export const MAX_BOOT_PATH_LENGTH = 1024;

/** A request path that passed every check: safe to map under a served root. */
export interface BootPath {
  /** Decoded path segments; none is empty, `.` or `..`; all printable ASCII without `\`. */
  readonly segments: readonly string[];
  /** `segments` joined with `/`, without a leading slash (`images/<sha256>`). */
  readonly path: string;
  /** Decoded query parameters (`ipxe/script?mac=…`); empty when there was no `?`. */
  readonly query: ReadonlyMap<string, string>;
}

/** Printable ASCII except space; anything else in a decoded segment is refused. */
const SEGMENT_PATTERN = /^[\x21-\x7e]+$/;
const CONTROL_PATTERN = /[\x00-\x1f\x7f]/;
/** `C:` — a Windows drive, which some TFTP clients send; never a name we serve. */
const DRIVE_PATTERN = /^[A-Za-z]:/;

/**
 * Normalises a raw TFTP filename or HTTP request target (path plus optional `?query`).
 *
 * One leading `/` is the root of the boot namespace (GRUB asks TFTP for `/grub/grub.cfg`,
 * HTTP always starts with `/`). The path is percent-decoded exactly once, for both protocols,
 * so `%2e%2e%2f` is seen as the `../` it stands for. Refused as `forbidden`: NUL and other
 * control bytes, backslashes, `..` segments, empty segments (`//etc`), invalid or double
 * percent-encoding (`%252e`), non-ASCII after decoding (overlong UTF-8, look-alike dots),
 * drive letters and `~`, and paths over {@link MAX_BOOT_PATH_LENGTH}. `.` segments are dropped.
 * An empty path is `not-found`: it names nothing.
 */
export function normaliseBootPath(raw: string): Result<BootPath, BootError> {
  const forbidden = (reason: string): Result<BootPath, BootError> =>
    err({ kind: 'forbidden', path: printable(raw), reason });
  if (raw.length > MAX_BOOT_PATH_LENGTH) return forbidden('path too long');
  if (CONTROL_PATTERN.test(raw)) return forbidden('control character in path');
  if (raw.includes('\\')) return forbidden('backslash in path');

  const queryStart = raw.indexOf('?');
  const rawPath = queryStart === -1 ? raw : raw.slice(0, queryStart);
  const rawQuery = queryStart === -1 ? '' : raw.slice(queryStart + 1);

  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return forbidden('invalid percent-encoding');
  }
  // A `%` left after one decode was encoded twice: a classic filter bypass, never a boot file.
  if (decoded.includes('%')) return forbidden('double percent-encoding');
  if (CONTROL_PATTERN.test(decoded)) return forbidden('encoded control character');
  if (decoded.includes('\\')) return forbidden('encoded backslash');

  const body = decoded.startsWith('/') ? decoded.slice(1) : decoded;
  if (body === '') return err({ kind: 'not-found', path: printable(raw) });
  const segments: string[] = [];
  for (const segment of body.split('/')) {
    if (segment === '') return forbidden('empty path segment');
    if (segment === '.') continue;
    if (segment === '..') return forbidden('parent directory segment');
    if (!SEGMENT_PATTERN.test(segment)) return forbidden('non-ASCII or space in path');
    segments.push(segment);
  }
  const first = segments[0];
  if (first === undefined) return err({ kind: 'not-found', path: printable(raw) });
  if (DRIVE_PATTERN.test(first) || first.startsWith('~')) return forbidden('host path prefix');

  const query = new Map<string, string>();
  if (rawQuery !== '') {
    for (const [key, value] of new URLSearchParams(rawQuery)) {
      if (!query.has(key)) query.set(key, value);
    }
  }
  return ok({ segments, path: segments.join('/'), query });
}

/** The path as it may appear in errors and logs: control bytes escaped, length capped. */
function printable(raw: string): string {
  const capped = raw.length > 200 ? `${raw.slice(0, 200)}…` : raw;
  return capped.replace(
    /[\x00-\x1f\x7f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}
