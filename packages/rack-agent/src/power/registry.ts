import type { PowerDriver } from './driver.ts';

/**
 * The agent's power drivers by type. Built once, in a function, from an explicit list (MAAS
 * `registry.py`): no self-registration, no module state.
 */
export interface PowerRegistry {
  /** The driver for `type`, or `undefined` if this agent has none. */
  get(type: string): PowerDriver<unknown> | undefined;
  /** Registered types, in registration order. */
  types(): string[];
}

/**
 * Builds a registry. Throws on a duplicate type: two drivers claiming one name is a programming
 * error that must stop the agent at startup, not a condition to handle.
 */
export function createPowerRegistry(drivers: readonly PowerDriver<unknown>[]): PowerRegistry {
  const byType = new Map<string, PowerDriver<unknown>>();
  for (const driver of drivers) {
    if (byType.has(driver.type)) {
      throw new Error(`duplicate power driver type "${driver.type}"`);
    }
    byType.set(driver.type, driver);
  }
  return {
    get: (type) => byType.get(type),
    types: () => [...byType.keys()],
  };
}
