/**
 * `manifest.json`: what an image directory holds, for `ingot images import <dir>` and for tests.
 *
 * ```json
 * {
 *   "format_version": 1,
 *   "name": "ingot/tiny/amd64", "os": "ingot", "release": "tiny", "arch": "amd64",
 *   "kernel_params": "console=ttyS0,115200",
 *   "files": [
 *     { "name": "vmlinuz", "role": "kernel", "sha256": "…", "size_bytes": 8123456 },
 *     { "name": "initrd.img", "role": "initrd", "sha256": "…", "size_bytes": 4123456 },
 *     { "name": "root.squashfs", "role": "root-image", "format": "squashfs", "sha256": "…",
 *       "size_bytes": 12345678 }
 *   ],
 *   "cache_key": "…", "kernel_release": "6.1.0-56-amd64",
 *   "packages": { "linux-image-6.1.0-56-amd64": "6.1.192-2" }
 * }
 * ```
 *
 * Roles and formats are the controller's (`BOOT_FILE_ROLES`, `ROOT_IMAGE_FORMATS` in
 * `packages/controller/src/domain/image/boot-resource.ts`); `name` is the file's name in the
 * directory.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256File } from './cache.ts';

/** What a file is for (the controller's boot file roles). */
export type ImageFileRole = 'kernel' | 'initrd' | 'squashfs' | 'root-image';
/** Layout of a root file. */
export type ImageFileFormat = 'squashfs' | 'tar' | 'raw';

/** One file of an image directory. */
export interface ImageManifestFile {
  readonly name: string;
  readonly role: ImageFileRole;
  readonly sha256: string;
  readonly size_bytes: number;
  readonly format?: ImageFileFormat;
}

/** The whole manifest (snake_case, as it is on disk). */
export interface ImageManifest {
  readonly format_version: 1;
  /** `<os>/<release>/<arch>`. */
  readonly name: string;
  readonly os: string;
  readonly release: string;
  readonly arch: string;
  /** Extra kernel parameters for every boot of this image. */
  readonly kernel_params: string;
  readonly files: readonly ImageManifestFile[];
  readonly cache_key: string;
  readonly kernel_release: string;
  /** Package → version the image was built from. */
  readonly packages: Readonly<Record<string, string>>;
}

/** Describes file `name` of `dir` (hashes it). */
export function describeFile(
  dir: string,
  name: string,
  role: ImageFileRole,
  format?: ImageFileFormat,
): ImageManifestFile {
  const path = join(dir, name);
  return {
    name,
    role,
    sha256: sha256File(path),
    size_bytes: statSync(path).size,
    ...(format === undefined ? {} : { format }),
  };
}

/** Writes `manifest` as `<dir>/manifest.json`. */
export function writeManifest(dir: string, manifest: ImageManifest): void {
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** Why a manifest was refused. */
export interface ManifestError {
  readonly kind: 'manifest-invalid';
  readonly problems: readonly string[];
}

const ROLES: readonly string[] = ['kernel', 'initrd', 'squashfs', 'root-image'];
const FORMATS: readonly string[] = ['squashfs', 'tar', 'raw'];

/**
 * Checks parsed JSON against the manifest shape: name = os/release/arch, hex sha256s, whole sizes,
 * known roles, at most one file per role, a kernel and an initrd, a format on root images.
 */
export function decodeManifest(
  raw: unknown,
): { ok: true; value: ImageManifest } | { ok: false; error: ManifestError } {
  const problems: string[] = [];
  const fail = (): { ok: false; error: ManifestError } => ({
    ok: false,
    error: { kind: 'manifest-invalid', problems },
  });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push('not a JSON object');
    return fail();
  }
  const m = raw as Record<string, unknown>;
  if (m['format_version'] !== 1) problems.push('format_version must be 1');
  for (const k of ['name', 'os', 'release', 'arch', 'kernel_params', 'cache_key']) {
    if (typeof m[k] !== 'string') problems.push(`${k} must be a string`);
  }
  if (m['name'] !== `${String(m['os'])}/${String(m['release'])}/${String(m['arch'])}`) {
    problems.push('name must be os/release/arch');
  }
  const files = m['files'];
  if (!Array.isArray(files)) {
    problems.push('files must be an array');
    return fail();
  }
  const seen = new Set<string>();
  files.forEach((f: unknown, i) => {
    if (typeof f !== 'object' || f === null) {
      problems.push(`files[${i}] is not an object`);
      return;
    }
    const file = f as Record<string, unknown>;
    const role = file['role'];
    if (typeof role !== 'string' || !ROLES.includes(role)) problems.push(`files[${i}].role`);
    else if (seen.has(role)) problems.push(`more than one ${role}`);
    else seen.add(role);
    if (typeof file['name'] !== 'string' || file['name'] === '' || file['name'].includes('/')) {
      problems.push(`files[${i}].name must be a plain file name`);
    }
    if (typeof file['sha256'] !== 'string' || !/^[0-9a-f]{64}$/.test(file['sha256'])) {
      problems.push(`files[${i}].sha256 must be 64 lower-case hex digits`);
    }
    const size = file['size_bytes'];
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      problems.push(`files[${i}].size_bytes must be a whole number`);
    }
    const format = file['format'];
    if (format !== undefined && (typeof format !== 'string' || !FORMATS.includes(format))) {
      problems.push(`files[${i}].format must be squashfs, tar or raw`);
    }
    if (role === 'root-image' && format === undefined) problems.push('root-image needs a format');
  });
  if (!seen.has('kernel') || !seen.has('initrd'))
    problems.push('a kernel and an initrd are required');
  if (problems.length > 0) return fail();
  return { ok: true, value: raw as ImageManifest };
}

/**
 * Reads and checks `<dir>/manifest.json`.
 *
 * @throws when it is missing or invalid (a corrupt cache entry: delete the directory).
 */
export function readManifestFile(dir: string): ImageManifest {
  const decoded = decodeManifest(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));
  if (!decoded.ok) {
    throw new Error(`${dir}/manifest.json: ${decoded.error.problems.join('; ')}`);
  }
  return decoded.value;
}
