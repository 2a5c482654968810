/**
 * Which controller this is: a name an operator gives (`--name`, `INGOT_NAME`; the host name by
 * default) and an id unique to this process, so a restarted controller is a new instance and
 * the leases of its previous life are recognisably someone else's.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** This controller process, as the cluster knows it. */
export interface ControllerInstance {
  /** `<name>-<8 hex>`: unique per process, stable while it runs. */
  readonly id: string;
  readonly name: string;
}

/** Names this process; `name` defaults to the host name. */
export function createControllerInstance(name?: string): ControllerInstance {
  const n = name === undefined || name.trim() === '' ? hostname() : name.trim();
  return { id: `${n}-${randomBytes(4).toString('hex')}`, name: n };
}
