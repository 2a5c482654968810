/** A comparable picture of a store, to check that a refused request changed nothing. */
import type { Store } from '../app/ports.ts';
import type { EventRecord } from '../domain/event.ts';
import type { Machine } from '../domain/machine/machine.ts';
import type { Rack, RackCommand } from '../domain/rack.ts';
import type { User } from '../domain/user.ts';

/** What {@link snapshotStore} captures. */
export interface StoreSnapshot {
  readonly machines: Machine[];
  readonly events: EventRecord[];
  readonly users: User[];
  readonly racks: Rack[];
  /** Unacknowledged commands of every rack. */
  readonly pendingCommands: RackCommand[];
}

/**
 * Reads machines, events (up to 100,000), users, racks and pending rack commands. Leaves out
 * `auth.lockout` events: a refused request may count as a failed authentication, and reaching
 * the limit is recorded (`app/auth-limiter.ts`); that is the one change a refusal may make.
 */
export async function snapshotStore(store: Store): Promise<StoreSnapshot> {
  const racks = await store.listRacks();
  const pendingCommands: RackCommand[] = [];
  for (const rack of racks) pendingCommands.push(...(await store.pendingRackCommands(rack.id)));
  return {
    machines: await store.listMachines({}),
    events: (await store.listEvents({ limit: 100_000 })).filter((e) => e.step !== 'auth.lockout'),
    users: await store.listUsers(),
    racks,
    pendingCommands,
  };
}
