/**
 * The machine as the controller knows it. Pure types and small pure functions only.
 */
import type { BootPurpose, MachineStatus } from './lifecycle.ts';

/** CPU architectures Ingot deploys. Names follow Debian's (DHCP option 93 maps onto them). */
export const ARCHITECTURES = ['amd64', 'arm64', 'i386', 'ppc64el', 's390x', 'riscv64'] as const;
/** One of {@link ARCHITECTURES}. */
export type Architecture = (typeof ARCHITECTURES)[number];

/** Observed power state. `unknown` until a rack has asked the BMC (or cannot, e.g. manual). */
export type PowerState = 'on' | 'off' | 'unknown' | 'error';

/** How the rack reaches the machine's BMC. `params` holds secrets and never leaves the store. */
export interface PowerConfig {
  readonly type: string;
  readonly params: Readonly<Record<string, unknown>>;
}

/** What a deploy was asked for (DESIGN.md §2 "Deploy"). */
export interface DeploymentChoice {
  readonly os: string;
  readonly release: string;
  readonly kernel: string | null;
  /** cloud-init user data, as given (text). */
  readonly userData: string | null;
  readonly ephemeral: boolean;
  /** Per-deploy changes the installer applies to the installed OS (the preseed role). */
  readonly customisation?: Customisation | undefined;
  /** Set when the operator releases with a disk erase (the erase boot reads it). */
  readonly erase?: EraseMode | undefined;
}

/** How a release erases the disks: signatures and partition tables only, or every byte. */
export const ERASE_MODES = ['quick', 'full'] as const;
/** One of {@link ERASE_MODES}. */
export type EraseMode = (typeof ERASE_MODES)[number];

/** A file the installer writes into the installed OS. */
export interface CustomFile {
  /** Absolute path inside the installed OS. */
  readonly path: string;
  readonly contentBase64: string;
  /** Octal permission bits, e.g. `0644`. */
  readonly mode: string;
}

/** What a deploy adds to the image: packages to install, files to write, commands to run. */
export interface Customisation {
  readonly packages: readonly string[];
  readonly commands: readonly string[];
  readonly files: readonly CustomFile[];
}

/** The last deployment step the controller heard of, for the status line and failures. */
export interface LastStep {
  readonly step: string;
  readonly result: string;
  readonly message: string;
  readonly atMs: number;
}

/** A machine. `version` increases with every write (optimistic concurrency). */
export interface Machine {
  readonly id: string;
  readonly hostname: string;
  readonly status: MachineStatus;
  readonly arch: Architecture;
  readonly cpuCount: number;
  readonly memoryMib: number;
  readonly storageGib: number;
  readonly macs: readonly string[];
  readonly tags: readonly string[];
  readonly zone: string;
  readonly pool: string;
  readonly ownerId: string | null;
  readonly locked: boolean;
  readonly rackId: string | null;
  readonly power: PowerConfig | null;
  readonly powerState: PowerState;
  readonly powerSeenAtMs: number | null;
  readonly deployment: DeploymentChoice | null;
  readonly statusMessage: string;
  readonly statusDeadlineMs: number | null;
  readonly lastStep: LastStep | null;
  readonly bootPurpose: BootPurpose | null;
  readonly version: number;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
}

/**
 * Allocation constraints (DESIGN.md §2). Every field narrows the candidates; `undefined` means
 * "any". `cpuCount`, `memoryMib` and `storageGib` are minimums.
 */
export interface AllocationConstraints {
  /** The hostname or the id. */
  readonly name?: string | undefined;
  /** The id only (MAAS's `system_id`); given with `name`, both must match. */
  readonly systemId?: string | undefined;
  readonly arch?: Architecture | undefined;
  readonly cpuCount?: number | undefined;
  readonly memoryMib?: number | undefined;
  readonly storageGib?: number | undefined;
  readonly tags?: readonly string[] | undefined;
  readonly notTags?: readonly string[] | undefined;
  readonly zone?: string | undefined;
  readonly pool?: string | undefined;
  /** Zones the machine must not be in. */
  readonly notInZones?: readonly string[] | undefined;
  /** Pools the machine must not be in. */
  readonly notInPools?: readonly string[] | undefined;
}

/** Normalises a MAC address to lower-case colon form, or returns null if it is not one. */
export function normalizeMac(value: string): string | null {
  const hex = value.replace(/[:-]/g, '').toLowerCase();
  if (!/^[0-9a-f]{12}$/.test(hex)) return null;
  return [0, 2, 4, 6, 8, 10].map((i) => hex.slice(i, i + 2)).join(':');
}

/** A host name as RFC 1123 allows it: labels of letters, digits and hyphens. */
export function isValidHostname(value: string): boolean {
  return (
    value.length > 0 &&
    value.length <= 253 &&
    value.split('.').every((label) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(label))
  );
}
