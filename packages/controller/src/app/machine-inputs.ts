/** What operators give the machine use cases: creation, deploy choices and edits. */
import type { Architecture, Customisation, PowerConfig } from '../domain/machine/machine.ts';
import type { MachinePatch } from './ports.ts';

/** What an operator gives to create a machine. */
export interface CreateMachineInput {
  readonly hostname?: string | undefined;
  readonly arch: Architecture;
  readonly macs: readonly string[];
  readonly cpuCount?: number | undefined;
  readonly memoryMib?: number | undefined;
  readonly storageGib?: number | undefined;
  readonly tags?: readonly string[] | undefined;
  readonly zone?: string | undefined;
  readonly pool?: string | undefined;
  readonly power?: PowerConfig | undefined;
  readonly rackId?: string | undefined;
  /** false: the operator supplies the facts and the machine goes straight to `ready`. */
  readonly commission: boolean;
}

/** What a deploy asks for. */
export interface DeployInput {
  readonly os: string;
  readonly release: string;
  readonly kernel?: string | undefined;
  readonly userData?: string | undefined;
  readonly ephemeral?: boolean | undefined;
  readonly customisation?: Customisation | undefined;
}

/** Operator edits (PATCH). */
export type UpdateMachineInput = Pick<
  MachinePatch,
  | 'hostname'
  | 'tags'
  | 'zone'
  | 'pool'
  | 'power'
  | 'rackId'
  | 'cpuCount'
  | 'memoryMib'
  | 'storageGib'
  | 'arch'
  | 'macs'
>;
