/** The virtual lab's state file and flags, shared by `lab.ts` and `lab-supervisor.ts`. */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from './args.ts';

export const ROOT = resolve(import.meta.dirname, '..', '..', '..');
export const MAIN = join(import.meta.dirname, 'main.ts');

/** One lab machine as `lab.json` records it (no secrets). */
export interface LabMachineState {
  readonly name: string;
  readonly mac: string;
  readonly machineId: string;
  readonly power: 'ipmi' | 'redfish';
  /** `host:port` (ipmi) or the Redfish system URL. */
  readonly bmc: string;
  readonly qemuPid: number;
  /** -1 for a Redfish machine (its BMC is the supervisor). */
  readonly ipmiSimPid: number;
  readonly disk: string;
  /**
   * With `lab up --enlist` only (machines are left for PXE enlistment): the BMC settings an
   * operator gives the enlisted machine (`PATCH /api/v1/machines/{id}` `power.params`).
   */
  readonly powerParams?: Record<string, unknown>;
}

/** `DATA/lab.json`. */
export interface LabState {
  readonly status: 'ready';
  readonly controllerUrl: string;
  readonly namespace: string;
  readonly uplinkHostAddress: string;
  readonly supervisorPid: number;
  readonly agentPid: number;
  readonly rackId: string;
  readonly redfishUrl: string;
  readonly firmware: 'bios' | 'uefi';
  readonly machines: readonly LabMachineState[];
}

/** The state file of the lab in `dataDir`. */
export function labStatePath(dataDir: string): string {
  return join(resolve(dataDir), 'lab.json');
}

/** Reads `DATA/lab.json`, or undefined when there is no lab. */
export function readLabState(dataDir: string): LabState | undefined {
  const path = labStatePath(dataDir);
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as LabState;
}

export const labFlags = {
  machines: { type: 'string' },
  uefi: { type: 'boolean' },
  data: { type: 'string' },
  'controller-grpc': { type: 'string' },
  'power-poll': { type: 'string' },
  memory: { type: 'string' },
  cpus: { type: 'string' },
  'disk-size': { type: 'string' },
  enlist: { type: 'boolean' },
} as const;

/** `--memory MiB` (default 1024: the ephemeral environment unpacks its root into RAM). */
export function vmMemoryMib(value: string | undefined): number {
  const n = Number(value ?? '1024');
  if (!Number.isInteger(n) || n < 256 || n > 16_384)
    throw new UsageError('--memory takes 256-16384 (MiB)');
  return n;
}

/** `--cpus N` (default 2). */
export function vmCpus(value: string | undefined): number {
  const n = Number(value ?? '2');
  if (!Number.isInteger(n) || n < 1 || n > 8) throw new UsageError('--cpus takes 1-8');
  return n;
}

/** `--disk-size GiB` (default 4): each VM's blank, sparse virtio disk. */
export function vmDiskGib(value: string | undefined): number {
  const n = Number(value ?? '4');
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new UsageError('--disk-size takes 1-64 (GiB)');
  return n;
}

export function machineCount(value: string | undefined): number {
  const n = Number(value ?? '2');
  if (!Number.isInteger(n) || n < 1 || n > 16) throw new UsageError('--machines takes 1-16');
  return n;
}
