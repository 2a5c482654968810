/**
 * Hardware facts a commissioning environment reports (docs/deploy-contract.md "Hardware facts").
 */

/** A block device. */
export interface Disk {
  readonly name: string;
  readonly sizeBytes: number;
  readonly model: string;
  readonly serial: string;
}

/** A network interface. */
export interface Nic {
  readonly name: string;
  readonly mac: string;
}

/** What commissioning found, as reported. */
export interface HardwareFacts {
  readonly cpuCount: number;
  readonly memoryMib: number;
  readonly disks: readonly Disk[];
  readonly nics: readonly Nic[];
}

/** The disk and NIC lists stored with a machine. */
export interface MachineHardware {
  readonly machineId: string;
  readonly disks: readonly Disk[];
  readonly nics: readonly Nic[];
  readonly recordedAtMs: number;
}

/** Storage in whole GiB: the sum of the disks, rounded down. */
export function storageGibOf(disks: readonly Disk[]): number {
  const total = disks.reduce((sum, d) => sum + d.sizeBytes, 0);
  return Math.floor(total / 2 ** 30);
}
