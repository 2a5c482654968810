import { err, ok } from '@ingot/common';
import type { PowerActionContext, PowerActionOutcome, PowerDriver } from '../driver.ts';

/** The manual driver takes no parameters. */
export type ManualPowerParams = Readonly<Record<string, never>>;

/**
 * Power for machines without a usable BMC: an operator does it by hand. Every action
 * "succeeds" at once with state `unknown` and a message telling the operator what to do; the
 * status event carrying that message is how the operator is asked (MAAS `manual` driver).
 * Verification is impossible, so `query` answers `unknown` and set-power skips verifying.
 */
export function createManualPowerDriver(): PowerDriver<ManualPowerParams> {
  const instruct = (verb: string, context: PowerActionContext): PowerActionOutcome => ({
    state: 'unknown',
    message:
      `Manual power driver: an operator must ${verb} ${context.target.hostname} now` +
      (context.pxeOnce && verb !== 'power off' ? ' (PXE boot once)' : ''),
  });
  return {
    type: 'manual',
    secretFields: [],
    parseParams(raw) {
      // The controller sends "{}" or nothing; anything else means a confused caller.
      if (raw === undefined || raw === null) return ok({});
      if (typeof raw === 'object' && !Array.isArray(raw)) return ok({});
      return err({ kind: 'settings', message: 'manual power takes no parameters' });
    },
    on: (_params, context) => Promise.resolve(ok(instruct('power on', context))),
    off: (_params, context) => Promise.resolve(ok(instruct('power off', context))),
    cycle: (_params, context) => Promise.resolve(ok(instruct('power cycle', context))),
    query: () => Promise.resolve(ok('unknown')),
    // The one-time PXE boot is part of the operator's instruction, so there is nothing to set.
    setBootDevice: () => Promise.resolve(ok(undefined)),
  };
}
