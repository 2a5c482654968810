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

/** One file of a boot resource. */
export interface BootResourceFile {
  readonly role: BootFileRole;
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly name: string;
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
  }
  // Kernel parameters end up in boot loader scripts: no characters those would interpret.
  if (!/^[A-Za-z0-9 ._,:=/+-]*$/.test(r.kernelParams)) {
    problems.push('kernel parameters may only hold letters, digits, spaces and . _ , : = / + -');
  }
  return problems;
}
