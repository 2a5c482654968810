/**
 * A dry-run allocation (MAAS's `dry_run`): which machine `allocate` would pick, found by the very
 * same store query inside a transaction that is then rolled back, so no rule is written twice and
 * nothing changes.
 */
import { err, ok, type Result } from '@ingot/common';
import type { DomainError } from '../domain/errors.ts';
import type { AllocationConstraints, Machine } from '../domain/machine/machine.ts';
import type { Actor } from './actor.ts';
import type { Store } from './ports.ts';

/** Thrown inside the transaction to roll it back; carries the machine picked. */
class RollBack extends Error {
  readonly machine: Machine;

  constructor(machine: Machine) {
    super('dry-run allocation rolled back');
    this.machine = machine;
  }
}

/** The machine `allocate` would give `actor` now; `no-match` when none fits. Writes nothing. */
export async function previewAllocation(
  store: Store,
  actor: Actor,
  constraints: AllocationConstraints,
  nowMs: number,
): Promise<Result<Machine, DomainError>> {
  if (actor.kind !== 'user')
    return err({ kind: 'forbidden', detail: 'only users allocate machines' });
  try {
    await store.transaction(async (tx) => {
      const picked = await tx.allocateMachine(constraints, actor.user.id, nowMs, 'allocated');
      if (picked !== undefined) throw new RollBack(picked);
    });
  } catch (e) {
    if (!(e instanceof RollBack)) throw e;
    // The machine as it is, not as the rolled-back allocation left it.
    const current = await store.getMachine(e.machine.id);
    if (current !== undefined) return ok(current);
  }
  return err({
    kind: 'no-match',
    detail: `no ready machine matches ${JSON.stringify(constraints)}`,
  });
}
