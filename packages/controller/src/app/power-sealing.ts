/**
 * Power parameters (BMC passwords) are stored sealed with the controller's secret box
 * (DESIGN.md §7); only `rpc/convert.ts` opens them, as a command leaves for the rack.
 */
import type { Clock } from '@ingot/common';
import type { PowerConfig } from '../domain/machine/machine.ts';
import type { Store } from './ports.ts';
import { isSealedParams, sealPowerParams, type SecretBox } from './secret-box.ts';

/** `power` with its parameters sealed; `null`/`undefined` pass through. */
export function sealPowerConfig(box: SecretBox, power: PowerConfig): PowerConfig;
export function sealPowerConfig(
  box: SecretBox,
  power: PowerConfig | null | undefined,
): PowerConfig | null | undefined;
export function sealPowerConfig(
  box: SecretBox,
  power: PowerConfig | null | undefined,
): PowerConfig | null | undefined {
  if (power === null || power === undefined) return power;
  return { type: power.type, params: sealPowerParams(box, power.params) };
}

/**
 * Seals the power parameters of machines stored before parameters were encrypted (run once at
 * startup, before anything else writes). Returns how many machines it sealed.
 */
export async function sealStoredPowerParams(d: {
  readonly store: Store;
  readonly clock: Clock;
  readonly secrets: SecretBox;
}): Promise<number> {
  let sealed = 0;
  for (const machine of await d.store.listMachines({})) {
    if (machine.power === null || isSealedParams(machine.power.params)) continue;
    const power = sealPowerConfig(d.secrets, machine.power);
    const updated = await d.store.updateMachine(
      machine.id,
      machine.version,
      { power },
      d.clock.now(),
    );
    if (updated !== undefined) sealed++;
  }
  return sealed;
}
