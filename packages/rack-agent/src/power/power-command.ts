import { err, type Clock, type Logger, type Result } from '@ingot/common';
import type { PowerReport, PowerRequest } from '../domain/commands.ts';
import type { EventRecorder } from '../events/event-recorder.ts';
import type { PowerTarget } from './driver.ts';
import { redactSecrets } from './redact.ts';
import type { PowerRegistry } from './registry.ts';
import {
  setPower,
  type SetPowerFailure,
  type SetPowerOptions,
  type SetPowerOutcome,
} from './set-power.ts';

/** What {@link runPowerCommand} needs. */
export interface PowerCommandDeps {
  readonly registry: PowerRegistry;
  readonly recorder: EventRecorder;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly setPowerOptions?: SetPowerOptions;
  /** Told how every power command ended (the agent's metrics). */
  readonly onReport?: ((request: PowerRequest, report: PowerReport) => void) | undefined;
}

/**
 * Carries out a controller's power request: driver lookup, parameter parsing, the shared
 * retry/verify policy, and the status events (DESIGN.md §3 step 1). State-changing actions
 * emit `power.<action>` `started`, then `succeeded` or `failed`, each committed to the outbox;
 * `query` emits nothing because it is not a step of the machine's life. Never throws for an
 * expected failure: the report carries it. Parameters (passwords) never reach events or logs.
 */
export async function runPowerCommand(
  deps: PowerCommandDeps,
  request: PowerRequest,
  target: PowerTarget,
  signal: AbortSignal,
): Promise<PowerReport> {
  const { action, driver: driverType, machineId } = request;
  const step = `power.${action}`;
  const emits = action !== 'query';
  const log = deps.logger.child({ machine_id: machineId, action, driver: driverType });

  if (emits) {
    deps.recorder.recordStatus({
      machineId,
      step,
      result: 'started',
      message:
        `Power ${action} ${target.hostname} (driver ${driverType})` +
        (request.pxeOnce && action !== 'off' ? ', network boot once' : ''),
      data: { driver: driverType, pxeOnce: request.pxeOnce },
    });
  }

  const result = await perform(deps, request, target, signal);
  const observedAtMs = deps.clock.now();
  const finish = (report: PowerReport): PowerReport => {
    deps.onReport?.(request, report);
    return report;
  };
  if (result.ok) {
    const { state, message, attempts, verified } = result.value;
    log.info('power action succeeded', { state, attempts, verified });
    if (emits) {
      deps.recorder.recordStatus({
        machineId,
        step,
        result: 'succeeded',
        message,
        data: { driver: driverType, state, attempts, verified },
      });
    }
    return finish({ machineId, ok: true, state, message, observedAtMs });
  }

  const { kind, message, attempts } = result.error;
  log.warn('power action failed', { errorKind: kind, attempts, message });
  if (emits) {
    deps.recorder.recordStatus({
      machineId,
      step,
      result: 'failed',
      message: `Power ${action} failed (${kind}): ${message}`,
      data: { driver: driverType, errorKind: kind, attempts },
    });
  }
  return finish({ machineId, ok: false, state: 'unknown', errorKind: kind, message, observedAtMs });
}

async function perform(
  deps: PowerCommandDeps,
  request: PowerRequest,
  target: PowerTarget,
  signal: AbortSignal,
): Promise<Result<SetPowerOutcome, SetPowerFailure>> {
  const driver = deps.registry.get(request.driver);
  if (driver === undefined) {
    return err({
      kind: 'unsupported',
      message: `this agent has no "${request.driver}" power driver (has: ${deps.registry.types().join(', ')})`,
      attempts: 0,
    });
  }
  const params = driver.parseParams(request.params);
  if (!params.ok) {
    const message = redactSecrets(params.error.message, request.params, driver.secretFields);
    return err({ kind: params.error.kind, message, attempts: 0 });
  }
  return setPower(
    driver,
    params.value,
    { action: request.action, uefi: request.uefi },
    { target, signal, pxeOnce: request.pxeOnce },
    deps.setPowerOptions,
  );
}
