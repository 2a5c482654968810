import { err, ok, type Result } from '@ingot/common';
import type {
  BootDevice,
  BootDeviceOptions,
  PowerActionContext,
  PowerActionOutcome,
  PowerDriver,
  PowerError,
  PowerState,
} from '../power/driver.ts';

/** Parameters of the fake driver; `password` is a secret to prove redaction. */
export interface FakePowerParams {
  readonly address: string;
  readonly password: string;
}

/** One call the fake received, in order. Parameters are kept so tests can inspect them. */
export interface FakePowerCall {
  readonly action: 'on' | 'off' | 'cycle' | 'query' | 'set-boot-device';
  readonly machineId: string;
  readonly params: FakePowerParams;
  readonly device?: BootDevice;
  readonly options?: BootDeviceOptions;
}

/** Options of {@link FakePowerDriver}. */
export interface FakePowerDriverOptions {
  /** Registry type; default `fake`. */
  readonly type?: string;
  readonly initialState?: PowerState;
  /** Queries after a change that still report the old state, like a slow BMC. */
  readonly queryLag?: number;
  /** Leave out `setBootDevice`, like a driver without boot override. */
  readonly withoutBootDevice?: boolean;
}

/**
 * A hand-written power driver for tests (STYLE.md §7): it holds a power state, records every
 * call, and fails on demand with queued {@link PowerError}s.
 */
export class FakePowerDriver implements PowerDriver<FakePowerParams> {
  readonly type: string;
  readonly secretFields = ['password'] as const;
  /** Current (true) power state. */
  state: PowerState;
  /** Every call, oldest first. */
  readonly calls: FakePowerCall[] = [];
  readonly setBootDevice?: PowerDriver<FakePowerParams>['setBootDevice'];
  #failures: {
    readonly action: FakePowerCall['action'] | undefined;
    readonly error: PowerError;
  }[] = [];
  #queryLag: number;
  #lagLeft = 0;
  #previous: PowerState;

  constructor(options: FakePowerDriverOptions = {}) {
    this.type = options.type ?? 'fake';
    this.state = options.initialState ?? 'off';
    this.#previous = this.state;
    this.#queryLag = options.queryLag ?? 0;
    if (options.withoutBootDevice !== true) {
      this.setBootDevice = (params, device, bootOptions, context) => {
        this.calls.push({
          action: 'set-boot-device',
          machineId: context.target.machineId,
          params,
          device,
          options: bootOptions,
        });
        const failure = this.#takeFailure('set-boot-device');
        return Promise.resolve(failure === undefined ? ok(undefined) : err(failure));
      };
    }
  }

  /** Makes the next call (of `action`, or any action) fail with `error`. Chainable. */
  failNext(error: PowerError, action?: FakePowerCall['action']): this {
    this.#failures.push({ action, error });
    return this;
  }

  /** Calls of one action. */
  callsOf(action: FakePowerCall['action']): FakePowerCall[] {
    return this.calls.filter((call) => call.action === action);
  }

  parseParams(raw: unknown): Result<FakePowerParams, PowerError> {
    if (typeof raw !== 'object' || raw === null) {
      return err({ kind: 'settings', message: 'fake power needs {"address": …}' });
    }
    const address: unknown = Reflect.get(raw, 'address');
    const password: unknown = Reflect.get(raw, 'password') ?? '';
    if (typeof address !== 'string' || address === '' || typeof password !== 'string') {
      return err({ kind: 'settings', message: 'fake power: address must be a non-empty string' });
    }
    return ok({ address, password });
  }

  on(
    params: FakePowerParams,
    context: PowerActionContext,
  ): Promise<Result<PowerActionOutcome, PowerError>> {
    return this.#change('on', params, context, 'on');
  }

  off(
    params: FakePowerParams,
    context: PowerActionContext,
  ): Promise<Result<PowerActionOutcome, PowerError>> {
    return this.#change('off', params, context, 'off');
  }

  cycle(
    params: FakePowerParams,
    context: PowerActionContext,
  ): Promise<Result<PowerActionOutcome, PowerError>> {
    return this.#change('cycle', params, context, 'on');
  }

  query(
    params: FakePowerParams,
    context: PowerActionContext,
  ): Promise<Result<PowerState, PowerError>> {
    return Promise.resolve(this.#query(params, context));
  }

  #query(params: FakePowerParams, context: PowerActionContext): Result<PowerState, PowerError> {
    this.calls.push({ action: 'query', machineId: context.target.machineId, params });
    const failure = this.#takeFailure('query');
    if (failure !== undefined) return err(failure);
    if (this.#lagLeft > 0) {
      this.#lagLeft--;
      return ok(this.#previous);
    }
    return ok(this.state);
  }

  #change(
    action: 'on' | 'off' | 'cycle',
    params: FakePowerParams,
    context: PowerActionContext,
    to: PowerState,
  ): Promise<Result<PowerActionOutcome, PowerError>> {
    return Promise.resolve(this.#apply(action, params, context, to));
  }

  #apply(
    action: 'on' | 'off' | 'cycle',
    params: FakePowerParams,
    context: PowerActionContext,
    to: PowerState,
  ): Result<PowerActionOutcome, PowerError> {
    this.calls.push({ action, machineId: context.target.machineId, params });
    const failure = this.#takeFailure(action);
    if (failure !== undefined) return err(failure);
    this.#previous = this.state;
    this.#lagLeft = this.#queryLag;
    this.state = to;
    return ok({
      state: to,
      message: `fake ${action} of ${context.target.hostname} at ${params.address}`,
    });
  }

  #takeFailure(action: FakePowerCall['action']): PowerError | undefined {
    const index = this.#failures.findIndex((f) => f.action === undefined || f.action === action);
    if (index < 0) return undefined;
    const [failure] = this.#failures.splice(index, 1);
    return failure?.error;
  }
}
