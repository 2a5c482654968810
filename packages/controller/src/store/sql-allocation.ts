/**
 * The candidate query of `SqlStore.allocateMachine`: which machines may be allocated under given
 * constraints. The atomic pick itself stays in `SqlStore`, where the dialect is known.
 */
import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';
import type { MachineStatus } from '../domain/machine/lifecycle.ts';
import type { AllocationConstraints } from '../domain/machine/machine.ts';
import type { Dialect } from './migrations/index.ts';
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

/**
 * Gives the first machine matching `c` to `ownerId` in one statement and returns its row, or
 * `undefined` when none is free.
 *
 * SQLite runs one writer at a time, so a single UPDATE … WHERE id = (SELECT … LIMIT 1) is
 * atomic. PostgreSQL evaluates the subquery against a snapshot: two sessions can pick the same
 * row; without the status re-check both take it (measured: 81 double allocations in 1,000),
 * with it the loser allocates nothing while other machines are free. There, lock the candidate
 * row and skip rows others hold. Skipping alone answers "no match" when the only matching rows
 * are held by some other write (a power observation on the machine asked for by name): then
 * wait for the lock once; the status re-check keeps that correct.
 */
export async function allocateRow(
  db: Kysely<Database>,
  dialect: Dialect,
  c: AllocationConstraints,
  ownerId: string,
  nowMs: number,
  toStatus: MachineStatus,
): Promise<Database['machines'] | undefined> {
  const candidate = allocationCandidate(db, c);
  const attempt = (picked: typeof candidate): Promise<Database['machines'] | undefined> =>
    db
      .updateTable('machines')
      .set({
        status: toStatus,
        owner_id: ownerId,
        version: sql<number>`version + 1`,
        updated_at: nowMs,
      })
      .where('id', '=', (eb) => eb.selectFrom(picked.as('candidate')).select('candidate.id'))
      .where('status', '=', 'ready')
      .returningAll()
      .executeTakeFirst();
  if (dialect === 'sqlite') return attempt(candidate);
  return (
    (await attempt(candidate.forUpdate().skipLocked())) ?? (await attempt(candidate.forUpdate()))
  );
}
