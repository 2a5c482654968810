/**
 * What the `*-store.contract.ts` suites share: a fixed instant, the stored form of a new
 * machine, a sample rack, and how a suite gets a fresh store.
 */
import { afterEach, beforeEach, describe } from 'vitest';
import type { NewMachine, Store } from '../app/ports.ts';
import type { Machine } from '../domain/machine/machine.ts';
import type { Rack } from '../domain/rack.ts';

/** Opens a fresh, empty store of the adapter under test. */
export type OpenStore = () => Promise<Store>;

/**
 * Registers one part of the `Store` contract for adapter `name`: a fresh store from `open` before
 * each test, closed after it. `body` declares the tests and reaches the current store through
 * `store()`.
 */
export function describeStoreContract(
  name: string,
  open: OpenStore,
  body: (store: () => Store) => void,
): void {
  describe(`Store contract: ${name}`, () => {
    let current: Store | undefined;

    beforeEach(async () => {
      current = await open();
    });

    afterEach(async () => {
      await current?.close();
      current = undefined;
    });

    body(() => {
      if (current === undefined) throw new Error('the store is open only inside a test');
      return current;
    });
  });
}

/** The instant the contract suites call "now". */
export const T0 = Date.UTC(2026, 0, 1);

/** The machine `insertMachine(m)` should give back. */
export function stored(m: NewMachine): Machine {
  return { ...m, version: 1, updatedAtMs: m.createdAtMs };
}

/** A disconnected rack `rack-1` with one interface; `overrides` replace fields. */
export function newRack(overrides: Partial<Rack> = {}): Rack {
  return {
    id: 'rack-1',
    name: 'rack-1',
    secretHash: 'ab'.repeat(32),
    hostname: 'rack-1.example',
    version: '0.1.0',
    interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:01', cidrs: ['10.0.0.2/24'] }],
    createdAtMs: T0,
    lastSeenAtMs: null,
    connected: false,
    health: null,
    networkConfigVersion: 0,
    ...overrides,
  };
}
