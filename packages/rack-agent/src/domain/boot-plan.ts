import type { MacAddress } from './mac-address.ts';

/** What a machine boots next time it network-boots (DESIGN.md §3 step 6). */
export const BOOT_PURPOSES = [
  'install',
  'commission',
  'ephemeral',
  'erase',
  'local',
  'rescue',
] as const;
/** One of {@link BOOT_PURPOSES}. */
export type BootPurpose = (typeof BOOT_PURPOSES)[number];

/** One content-addressed file a boot needs (kernel, initrd, squashfs …). */
export interface BootFile {
  /** `kernel` | `initrd` | `squashfs` | `root-image` …; open-ended on purpose. */
  readonly role: string;
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly name: string;
}

/**
 * A machine's boot plan as pushed by the controller. `version` is monotonic per machine: the
 * store never lets an older plan replace a newer one, so re-sent or reordered commands cannot
 * roll a machine back.
 */
export interface BootPlan {
  readonly machineId: string;
  readonly version: number;
  readonly macs: readonly MacAddress[];
  readonly purpose: BootPurpose;
  readonly os: string;
  readonly release: string;
  readonly arch: string;
  readonly kernelParams: string;
  readonly files: readonly BootFile[];
  readonly hostname: string;
  /** Per-machine metadata token; a secret, never logged. */
  readonly metadataToken: string;
}
