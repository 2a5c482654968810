/**
 * The candidate query of `SqlStore.allocateMachine`: which machines may be allocated under given
 * constraints. The atomic pick itself stays in `SqlStore`, where the dialect is known.
 */
import type { Kysely, SelectQueryBuilder } from 'kysely';
import type { AllocationConstraints } from '../domain/machine/machine.ts';
import type { Database } from './schema.ts';

/**
 * The id of the first (by id) `ready`, unlocked machine matching `c`: every given minimum, every
 * tag in `tags` and none in `notTags`, no zone in `notInZones` nor pool in `notInPools`; `name`
 * matches the hostname or the id, `systemId` the id. Builds, never runs.
 */
export function allocationCandidate(
  db: Kysely<Database>,
  c: AllocationConstraints,
): SelectQueryBuilder<Database, 'machines', { id: string }> {
  let candidate: SelectQueryBuilder<Database, 'machines', { id: string }> = db
    .selectFrom('machines')
    .select('machines.id')
    .where('status', '=', 'ready')
    .where('locked', '=', 0);
  if (c.name !== undefined) {
    const name = c.name;
    candidate = candidate.where((eb) =>
      eb.or([eb('hostname', '=', name), eb('machines.id', '=', name)]),
    );
  }
  if (c.systemId !== undefined) candidate = candidate.where('machines.id', '=', c.systemId);
  if (c.arch !== undefined) candidate = candidate.where('arch', '=', c.arch);
  if (c.cpuCount !== undefined) candidate = candidate.where('cpu_count', '>=', c.cpuCount);
  if (c.memoryMib !== undefined) candidate = candidate.where('memory_mib', '>=', c.memoryMib);
  if (c.storageGib !== undefined) candidate = candidate.where('storage_gib', '>=', c.storageGib);
  if (c.zone !== undefined) candidate = candidate.where('zone', '=', c.zone);
  if (c.pool !== undefined) candidate = candidate.where('pool', '=', c.pool);
  if (c.notInZones !== undefined && c.notInZones.length > 0) {
    candidate = candidate.where('zone', 'not in', [...c.notInZones]);
  }
  if (c.notInPools !== undefined && c.notInPools.length > 0) {
    candidate = candidate.where('pool', 'not in', [...c.notInPools]);
  }
  for (const tag of c.tags ?? []) {
    candidate = candidate.where((eb) =>
      eb.exists(
        eb
          .selectFrom('machine_tags')
          .select('machine_tags.tag')
          .whereRef('machine_tags.machine_id', '=', 'machines.id')
          .where('machine_tags.tag', '=', tag),
      ),
    );
  }
  for (const tag of c.notTags ?? []) {
    candidate = candidate.where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('machine_tags')
            .select('machine_tags.tag')
            .whereRef('machine_tags.machine_id', '=', 'machines.id')
            .where('machine_tags.tag', '=', tag),
        ),
      ),
    );
  }
  return candidate.orderBy('machines.id').limit(1);
}
