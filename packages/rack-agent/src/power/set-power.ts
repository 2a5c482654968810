import { assertNever, err, ok, type Result } from '@ingot/common';
import { backoffDelayMs, realSleep, type BackoffPolicy, type Sleep } from '../backoff.ts';
import type { PowerAction } from '../domain/commands.ts';
import {
  canSetBootDevice,
  FATAL_POWER_ERROR_KINDS,
  type PowerActionContext,
  type PowerActionOutcome,
  type PowerDriver,
  type PowerError,
  type PowerState,
} from './driver.ts';
import { redactSecrets } from './redact.ts';

/** Retry and verification policy; defaults suit real BMCs, tests shrink them. */
export interface SetPowerOptions {
  /** Total attempts for retryable errors (`connection`, `action`), including the first. */
  readonly maxAttempts?: number;
  /** Delay between attempts. */
  readonly retry?: BackoffPolicy;
  /** Queries after a change until the expected state shows (BMCs report with a lag). */
  readonly verify?: { readonly attempts: number; readonly intervalMs: number };
  readonly sleep?: Sleep;
  readonly random?: () => number;
}

/** The defaults of {@link SetPowerOptions}. */
export const DEFAULT_SET_POWER_OPTIONS = {
  maxAttempts: 3,
  retry: { initialMs: 1000, maxMs: 10_000 },
  verify: { attempts: 5, intervalMs: 2000 },
} as const;

/** A successful power action. */
export interface SetPowerOutcome {
  /** Final state: verified by query where possible, else what the driver said. */
  readonly state: PowerState;
  /** Driver text for the timeline, plus any note from this policy (no boot override …). */
  readonly message: string;
  readonly attempts: number;
  /** True when a query confirmed the expected state. */
  readonly verified: boolean;
}

/** A failed power action; `message` is already redacted. */
export interface SetPowerFailure extends PowerError {
  readonly attempts: number;
}

/**
 * Performs one power action with the shared policy (MAAS `perform_power`, STYLE.md §4.4):
 * set the boot device first when asked and supported, run the action, verify by query when the
 * driver can observe state, and retry `connection`/`action` failures with backoff. Fatal kinds
 * return at once. Driver exceptions are bugs in the driver but must not take the agent down:
 * they become `action` failures. Secret parameters never appear in the returned messages.
 */
export async function setPower<P>(
  driver: PowerDriver<P>,
  params: P,
  request: { readonly action: PowerAction; readonly uefi: boolean },
  context: PowerActionContext,
  options: SetPowerOptions = {},
): Promise<Result<SetPowerOutcome, SetPowerFailure>> {
  const maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULT_SET_POWER_OPTIONS.maxAttempts);
  const retry = options.retry ?? DEFAULT_SET_POWER_OPTIONS.retry;
  const sleep = options.sleep ?? realSleep;
  const redact = (text: string): string => redactSecrets(text, params, driver.secretFields);

  let lastError: PowerError = { kind: 'action', message: 'not attempted' };
  let attempts = 0;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    attempts = attempt;
    let result: Result<Omit<SetPowerOutcome, 'attempts'>, PowerError>;
    try {
      result = await attemptOnce(driver, params, request, context, options);
    } catch (error: unknown) {
      result = err({ kind: 'action', message: `driver error: ${describe(error)}` });
    }
    if (result.ok) {
      return ok({ ...result.value, message: redact(result.value.message), attempts: attempt });
    }
    lastError = result.error;
    if (FATAL_POWER_ERROR_KINDS.has(lastError.kind) || isAborted(context.signal)) break;
    if (attempt < maxAttempts) {
      await sleep(backoffDelayMs(attempt - 1, retry, options.random), context.signal);
      if (isAborted(context.signal)) break;
    }
  }
  const message = isAborted(context.signal) ? `aborted: ${lastError.message}` : lastError.message;
  return err({ kind: lastError.kind, message: redact(message), attempts });
}

async function attemptOnce<P>(
  driver: PowerDriver<P>,
  params: P,
  request: { readonly action: PowerAction; readonly uefi: boolean },
  context: PowerActionContext,
  options: SetPowerOptions,
): Promise<Result<Omit<SetPowerOutcome, 'attempts'>, PowerError>> {
  if (request.action === 'query') {
    const state = await driver.query(params, context);
    if (!state.ok) return state;
    return ok({ state: state.value, message: `power is ${state.value}`, verified: true });
  }

  const notes: string[] = [];
  if (context.pxeOnce && request.action !== 'off') {
    if (canSetBootDevice(driver)) {
      const set = await driver.setBootDevice(
        params,
        'pxe',
        { persistent: false, uefi: request.uefi },
        context,
      );
      if (!set.ok) return set;
    } else {
      // Not an error: the machine may still PXE-boot by its firmware order. Say so.
      notes.push(`driver "${driver.type}" cannot set the boot device; relying on boot order`);
    }
  }

  let outcome: Result<PowerActionOutcome, PowerError>;
  switch (request.action) {
    case 'on':
      outcome = await driver.on(params, context);
      break;
    case 'off':
      outcome = await driver.off(params, context);
      break;
    case 'cycle':
      outcome = await driver.cycle(params, context);
      break;
    default:
      return assertNever(request.action, 'power action');
  }
  if (!outcome.ok) return outcome;

  const expected: PowerState = request.action === 'off' ? 'off' : 'on';
  const verified = await verifyState(driver, params, expected, context, options);
  if (!verified.ok) return verified;
  const state = verified.value === 'unverifiable' ? outcome.value.state : expected;
  const message = [outcome.value.message ?? `power ${request.action} done`, ...notes].join('; ');
  return ok({ state, message, verified: verified.value === 'verified' });
}

/**
 * Polls `query` until it shows `expected`. `unverifiable` when the driver answers `unknown`
 * (manual, webhook without status); an `action` error when the state never arrives.
 */
async function verifyState<P>(
  driver: PowerDriver<P>,
  params: P,
  expected: PowerState,
  context: PowerActionContext,
  options: SetPowerOptions,
): Promise<Result<'verified' | 'unverifiable', PowerError>> {
  const { attempts, intervalMs } = options.verify ?? DEFAULT_SET_POWER_OPTIONS.verify;
  const sleep = options.sleep ?? realSleep;
  let seen: PowerState = 'unknown';
  for (let query = 1; query <= Math.max(1, attempts); query++) {
    const state = await driver.query(params, context);
    if (!state.ok) return state;
    seen = state.value;
    if (seen === 'unknown') return ok('unverifiable');
    if (seen === expected) return ok('verified');
    if (query < attempts) await sleep(intervalMs, context.signal);
    if (isAborted(context.signal)) break;
  }
  return err({ kind: 'action', message: `power is ${seen}, expected ${expected}` });
}

/**
 * Reads `signal.aborted` through a call: TypeScript narrows a property read before an `await`
 * and would "prove" a later read false, although the signal may abort while we wait.
 */
function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
