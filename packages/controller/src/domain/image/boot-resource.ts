/**
 * Boot resources (DESIGN.md §6): an image is `os/release/arch` with its files — kernel, initrd,
 * ephemeral root squashfs, install image — each content-addressed by sha256. Racks fetch files
 * by hash, so the resource is only metadata; the bytes live in the image store.
 */

/** The image commissioning boots (Ingot's ephemeral environment). */
export const COMMISSIONING_IMAGE = { os: 'ingot', release: 'ephemeral' } as const;

/** What a file is for. */
export const BOOT_FILE_ROLES = ['kernel', 'initrd', 'squashfs', 'root-image'] as const;
/** One of {@link BOOT_FILE_ROLES}. */
export type BootFileRole = (typeof BOOT_FILE_ROLES)[number];

/**
 * How a root image's bytes are laid out, which decides how the installer writes it: a squashfs
 * (unsquashfs onto a fresh filesystem), a tarball, possibly compressed (`tar -x`), or a raw disk
 * image (written block for block, MAAS's "custom image" of type `ddraw`).
 */
export const ROOT_IMAGE_FORMATS = ['squashfs', 'tar', 'raw'] as const;
/** One of {@link ROOT_IMAGE_FORMATS}. */
export type RootImageFormat = (typeof ROOT_IMAGE_FORMATS)[number];

/** One file of a boot resource. */
export interface BootResourceFile {
  readonly role: BootFileRole;
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly name: string;
  /**
   * Layout of a `squashfs` or `root-image` file. Optional: rows stored before the field existed
   * have none, and {@link rootImageFormat} derives it from the role and name.
   */
  readonly format?: RootImageFormat | undefined;
}

/**
 * The layout of a root file: its recorded `format`, else what its role or name says
 * (`*.squashfs`, `*.tar[.gz|.xz|.zst]`/`*.tgz`, `*.img`/`*.raw`). `undefined` for kernels,
 * initrds and names that say nothing.
 */
export function rootImageFormat(
  file: Pick<BootResourceFile, 'role' | 'name' | 'format'>,
): RootImageFormat | undefined {
  if (file.format !== undefined) return file.format;
  if (file.role === 'kernel' || file.role === 'initrd') return undefined;
  if (file.role === 'squashfs') return 'squashfs';
  return formatFromName(file.name);
}

/** What a file name says about its layout, or `undefined`. */
export function formatFromName(name: string): RootImageFormat | undefined {
  const lower = name.toLowerCase();
  if (lower.endsWith('.squashfs') || lower.endsWith('.sqfs')) return 'squashfs';
  if (/\.(tar|tgz|tar\.(gz|xz|zst|bz2))$/.test(lower)) return 'tar';
  if (/\.(img|raw|dd)(\.(gz|xz|zst))?$/.test(lower)) return 'raw';
  return undefined;
}

/** A bootable image. */
export interface BootResource {
  readonly id: string;
  readonly os: string;
  readonly release: string;
  readonly arch: string;
  readonly files: readonly BootResourceFile[];
  /** Extra kernel parameters for every boot of this resource. */
  readonly kernelParams: string;
  readonly createdAtMs: number;
}

/** Checks a resource's files: one per role at most, a kernel and an initrd, valid hashes. */
export function validateBootResource(r: Pick<BootResource, 'files' | 'kernelParams'>): string[] {
  const problems: string[] = [];
  const roles = r.files.map((f) => f.role);
  for (const role of BOOT_FILE_ROLES) {
    if (roles.filter((x) => x === role).length > 1) problems.push(`more than one ${role} file`);
  }
  if (!roles.includes('kernel') || !roles.includes('initrd'))
    problems.push('a kernel and an initrd are required');
  for (const f of r.files) {
    if (!/^[0-9a-f]{64}$/.test(f.sha256))
      problems.push(`${f.role}: sha256 must be 64 lower-case hex digits`);
    if (!Number.isSafeInteger(f.sizeBytes) || f.sizeBytes < 0)
      problems.push(`${f.role}: size must be a whole number of bytes`);
    if (f.format !== undefined && (f.role === 'kernel' || f.role === 'initrd'))
      problems.push(`${f.role}: only root files (squashfs, root-image) have a format`);
    if (f.role === 'root-image' && rootImageFormat(f) === undefined)
      problems.push(
        `root-image: give its format (squashfs, tar or raw) or a name that says it (${f.name})`,
      );
  }
  // Kernel parameters end up in boot loader scripts: no characters those would interpret.
  if (!/^[A-Za-z0-9 ._,:=/+-]*$/.test(r.kernelParams)) {
    problems.push('kernel parameters may only hold letters, digits, spaces and . _ , : = / + -');
  }
  return problems;
}
