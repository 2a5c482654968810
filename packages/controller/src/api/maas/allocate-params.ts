/**
 * MAAS's allocation constraints (`machines/?op=allocate`) as Ingot's `AllocationConstraints`,
 * and the `constraints_by_type` answer. Every constraint is applied by the one allocation rule in
 * the store; what Ingot cannot honour is refused with a 400 naming it, never silently ignored.
 */
import {
  ARCHITECTURES,
  type AllocationConstraints,
  type Architecture,
} from '../../domain/machine/machine.ts';
import type { Disk } from '../../domain/metadata/hardware.ts';
import type { MaasParams } from './form-params.ts';
import { MaasError } from './maas-error.ts';
import type { JsonObject } from './network-shape.ts';

/** Constraints MAAS knows and Ingot does not model (no fabrics, subnets-as-constraints, pods). */
const UNSUPPORTED = [
  'interfaces',
  'subnets',
  'not_subnets',
  'fabrics',
  'not_fabrics',
  'fabric_classes',
  'not_fabric_classes',
  'pod',
  'not_pod',
  'pod_type',
  'not_pod_type',
  'devices',
] as const;

/** One disk of a `storage` constraint: `label:sizeGB` (the label defaults to its index). */
export interface StorageRequest {
  readonly label: string;
  readonly sizeGb: number;
}

/** Parses `storage=root:20,data:100` (sizes in GB); disk tags `(ssd)` are refused. */
export function parseStorage(text: string): StorageRequest[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((item, i) => {
      const m = /^(?:([A-Za-z0-9_-]+):)?(\d+(?:\.\d+)?)(\(([^)]*)\))?$/.exec(item);
      if (m === null) {
        throw new MaasError(400, `storage: "${item}" is not [label:]size_in_GB.`);
      }
      if (m[4] !== undefined && m[4] !== '') {
        throw new MaasError(400, `storage: disk tags (${m[4]}) are not supported by Ingot.`);
      }
      return { label: m[1] ?? String(i), sizeGb: Number(m[2]) };
    });
}

/** An architecture as MAAS writes it (`amd64`, `amd64/generic`). */
export function parseArchitecture(raw: string): Architecture {
  const arch = raw.split('/')[0] ?? '';
  const known = ARCHITECTURES.find((a) => a === arch);
  if (known === undefined) {
    throw new MaasError(400, `arch: architecture "${raw}" is not recognised.`);
  }
  return known;
}

/** A `name=` without the MAAS domain (`node-1.maas` is `node-1`). */
function bareName(name: string, domain: string): string {
  return name.endsWith(`.${domain}`) ? name.slice(0, -(domain.length + 1)) : name;
}

/** The allocation request: constraints for the store, plus what the answer reports. */
export interface AllocateRequest {
  readonly constraints: AllocationConstraints;
  readonly storage: readonly StorageRequest[];
  readonly agentName: string | undefined;
  readonly dryRun: boolean;
}

/** Reads `machines/?op=allocate`'s parameters. Throws {@link MaasError} 400 for bad ones. */
export function parseAllocate(p: MaasParams, domain: string): AllocateRequest {
  for (const name of UNSUPPORTED) {
    if (p.all(name).some((v) => v.trim() !== '')) {
      throw new MaasError(400, `${name}: this constraint is not supported by Ingot.`);
    }
  }
  const storage = parseStorage(p.all('storage').join(','));
  const totalGb = storage.reduce((sum, s) => sum + s.sizeGb, 0);
  const arch = p.one('arch');
  const name = p.one('name');
  const constraints: AllocationConstraints = {
    name: name === undefined || name === '' ? undefined : bareName(name, domain),
    systemId: p.one('system_id') || undefined,
    arch: arch === undefined || arch === '' ? undefined : parseArchitecture(arch),
    cpuCount: p.minimum('cpu_count'),
    memoryMib: p.minimum('mem'),
    // MAAS sizes are GB (10^9 bytes); Ingot keeps whole GiB.
    storageGib: totalGb > 0 ? Math.ceil((totalGb * 1e9) / 2 ** 30) : undefined,
    tags: p.list('tags'),
    notTags: p.list('not_tags'),
    zone: p.one('zone') || undefined,
    pool: p.one('pool') || undefined,
    notInZones: p.list('not_in_zone'),
    notInPools: p.list('not_in_pool'),
  };
  return {
    constraints,
    storage,
    agentName: p.one('agent_name') || undefined,
    dryRun: p.bool('dry_run'),
  };
}

/**
 * `constraints_by_type`: which block device answers each `storage` label (the smallest unused
 * disk large enough, in the order asked), by the ids the machine object carries.
 */
export function constraintsByType(
  storage: readonly StorageRequest[],
  disks: readonly Disk[],
  idOf: (disk: Disk) => number,
): JsonObject {
  if (storage.length === 0) return {};
  const unused = [...disks].sort((a, b) => a.sizeBytes - b.sizeBytes);
  const matches: Record<string, number[]> = {};
  for (const request of storage) {
    const i = unused.findIndex((d) => d.sizeBytes >= request.sizeGb * 1e9);
    const disk = unused[i];
    if (i < 0 || disk === undefined) continue;
    unused.splice(i, 1);
    matches[request.label] = [idOf(disk)];
  }
  return { storage: matches };
}
