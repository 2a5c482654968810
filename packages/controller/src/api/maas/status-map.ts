/**
 * Ingot's lifecycle statuses as MAAS 2.0 names them: the one table the MAAS adapter reads.
 * Numbers and names are MAAS's `NODE_STATUS` values and their display names (what `status` and
 * `status_name` carry, and what Juju waits for: `Deployed`). `keyword` is the lower-case form the
 * `machines/` list accepts in `status=`.
 */
import type { MachineStatus } from '../../domain/machine/lifecycle.ts';
import type { Machine } from '../../domain/machine/machine.ts';

/** A MAAS node status. */
export interface MaasStatus {
  readonly code: number;
  readonly name: string;
  readonly keyword: string;
}

const NEW = { code: 0, name: 'New', keyword: 'new' };
const COMMISSIONING = { code: 1, name: 'Commissioning', keyword: 'commissioning' };
const FAILED_COMMISSIONING = {
  code: 2,
  name: 'Failed commissioning',
  keyword: 'failed_commissioning',
};
const READY = { code: 4, name: 'Ready', keyword: 'ready' };
const DEPLOYED = { code: 6, name: 'Deployed', keyword: 'deployed' };
const BROKEN = { code: 8, name: 'Broken', keyword: 'broken' };
const DEPLOYING = { code: 9, name: 'Deploying', keyword: 'deploying' };
const ALLOCATED = { code: 10, name: 'Allocated', keyword: 'allocated' };
const FAILED_DEPLOYMENT = { code: 11, name: 'Failed deployment', keyword: 'failed_deployment' };
const RELEASING = { code: 12, name: 'Releasing', keyword: 'releasing' };
const FAILED_RELEASING = { code: 13, name: 'Failed releasing', keyword: 'failed_releasing' };
/** MAAS shows a release that wipes disks as its own status. */
const DISK_ERASING = { code: 14, name: 'Disk erasing', keyword: 'disk_erasing' };

/** Every Ingot status and its MAAS counterpart (`releasing` is `Disk erasing` while erasing). */
export const MAAS_STATUSES: Readonly<Record<MachineStatus, MaasStatus>> = {
  new: NEW,
  commissioning: COMMISSIONING,
  failed_commissioning: FAILED_COMMISSIONING,
  ready: READY,
  allocated: ALLOCATED,
  deploying: DEPLOYING,
  deployed: DEPLOYED,
  releasing: RELEASING,
  failed_deployment: FAILED_DEPLOYMENT,
  failed_releasing: FAILED_RELEASING,
  broken: BROKEN,
};

/** The MAAS status of a machine. */
export function maasStatusOf(machine: Pick<Machine, 'status' | 'bootPurpose'>): MaasStatus {
  if (machine.status === 'releasing' && machine.bootPurpose === 'erase') return DISK_ERASING;
  return MAAS_STATUSES[machine.status];
}
