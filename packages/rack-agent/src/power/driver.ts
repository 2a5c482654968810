import type { Result } from '@ingot/common';
import type { PowerErrorKind, PowerState } from '../domain/commands.ts';

export { POWER_ERROR_KINDS, POWER_STATES } from '../domain/commands.ts';
export type { PowerErrorKind, PowerState } from '../domain/commands.ts';

/**
 * An expected power failure. The kind decides retry policy in `set-power.ts`: `settings`,
 * `auth`, `unsupported` and `tool-missing` are fatal; `connection` and `action` are retried
 * (MAAS `PowerFatalError`). `message` must never contain a secret parameter.
 */
export interface PowerError {
  readonly kind: PowerErrorKind;
  readonly message: string;
}

/** Error kinds that another attempt cannot fix. */
export const FATAL_POWER_ERROR_KINDS: ReadonlySet<PowerErrorKind> = new Set([
  'settings',
  'auth',
  'unsupported',
  'tool-missing',
]);

/** The machine an action is for, for drivers that talk to people or need a name. */
export interface PowerTarget {
  readonly machineId: string;
  /** Host name from the boot plan, or the machine id when the agent has no plan. */
  readonly hostname: string;
}

/** Per-call context passed to every driver action. */
export interface PowerActionContext {
  readonly target: PowerTarget;
  /** Aborts when the agent shuts down; drivers pass it to sockets and child processes. */
  readonly signal: AbortSignal;
  /** The controller asked for a one-time network boot (set before `on`/`cycle`). */
  readonly pxeOnce: boolean;
}

/** What a state-changing action reports. */
export interface PowerActionOutcome {
  /** State right after the action, if the driver knows it; `unknown` otherwise. */
  readonly state: PowerState;
  /** Human text for the event timeline (e.g. the manual driver's instruction). */
  readonly message?: string | undefined;
}

/** Boot devices a driver may set. Only `pxe` is used today; `disk` is for releases later. */
export type BootDevice = 'pxe' | 'disk';

/** Options for {@link PowerDriver.setBootDevice}. */
export interface BootDeviceOptions {
  /** `false`: next boot only (IPMI `options=efiboot` + one-shot, Redfish `Once`). */
  readonly persistent: boolean;
  readonly uefi: boolean;
}

/**
 * One BMC protocol (IPMI, Redfish, webhook, manual, …). Drivers implement protocol only:
 * retries, verification and events live in `set-power.ts` and `power-command.ts`. "On" must
 * not hard-cycle a machine that is already on (DESIGN.md §7).
 *
 * Methods use method syntax on purpose: it lets a registry hold `PowerDriver<unknown>` while
 * each driver keeps its own typed `P`; the registry only ever passes a driver what that
 * driver's own `parseParams` returned.
 */
export interface PowerDriver<P> {
  /** Registry key, matching `PowerCommand.driver` (`manual`, `ipmi`, …). */
  readonly type: string;
  /** Parameter names that hold secrets; redacted from anything logged or emitted. */
  readonly secretFields: readonly string[];
  /** Validates raw parameters from the controller; failures are `settings` errors. */
  parseParams(raw: unknown): Result<P, PowerError>;
  on(params: P, context: PowerActionContext): Promise<Result<PowerActionOutcome, PowerError>>;
  off(params: P, context: PowerActionContext): Promise<Result<PowerActionOutcome, PowerError>>;
  /** Power off then on (or a hard reset); the machine should end up on. */
  cycle(params: P, context: PowerActionContext): Promise<Result<PowerActionOutcome, PowerError>>;
  /** Current state; `unknown` when the driver cannot observe it (then set-power skips verify). */
  query(params: P, context: PowerActionContext): Promise<Result<PowerState, PowerError>>;
  /**
   * Optional capability (STYLE.md §4.4): drivers without a BMC boot override leave it out and
   * callers check with {@link canSetBootDevice}.
   */
  setBootDevice?(
    params: P,
    device: BootDevice,
    options: BootDeviceOptions,
    context: PowerActionContext,
  ): Promise<Result<void, PowerError>>;
}

/** Type guard for the optional boot-device capability. */
export function canSetBootDevice<P>(
  driver: PowerDriver<P>,
): driver is PowerDriver<P> & Required<Pick<PowerDriver<P>, 'setBootDevice'>> {
  return typeof driver.setBootDevice === 'function';
}
