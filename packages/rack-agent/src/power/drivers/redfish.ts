import { err, ok, type Result } from '@ingot/common';
import type {
  BootDevice,
  BootDeviceOptions,
  PowerActionContext,
  PowerActionOutcome,
  PowerDriver,
  PowerError,
  PowerState,
} from '../driver.ts';
import { createRedfishClient, describeBody, type RedfishEndpoint } from './redfish-client.ts';

/** Parameters of the `redfish` driver. */
export interface RedfishPowerParams {
  /** BMC base URL, `https://bmc.example[:port]` (a path is ignored). */
  readonly address: string;
  readonly username: string;
  /** Secret. */
  readonly password: string;
  /** `Id` of the system under `/redfish/v1/Systems`; default: the collection's first member. */
  readonly systemId?: string | undefined;
  /** Check the BMC's certificate (default true). BMCs often ship self-signed ones. */
  readonly verifyTls: boolean;
  /** `session` (default): log in once and reuse the `X-Auth-Token`; `basic`: every request. */
  readonly authMode: 'session' | 'basic';
}

/** The `redfish` driver: it always has the boot-override capability. */
export type RedfishPowerDriver = PowerDriver<RedfishPowerParams> &
  Required<Pick<PowerDriver<RedfishPowerParams>, 'setBootDevice'>>;

/** Options of {@link createRedfishPowerDriver}. */
export interface RedfishDriverOptions {
  /** Per-request timeout; a timeout is a `connection` error. Default 15 s. */
  readonly timeoutMs?: number;
}

/** The parts of a `ComputerSystem` the driver uses. */
interface SystemView {
  readonly powerState: string | undefined;
  readonly resetTarget: string;
  /** `ResetType@Redfish.AllowableValues`; undefined when the BMC does not say. */
  readonly resetTypes: readonly string[] | undefined;
  readonly bootTargets: readonly string[] | undefined;
  readonly bootModes: readonly string[] | undefined;
  readonly etag: string | undefined;
}

const PARAM_KEYS = new Set([
  'address',
  'username',
  'password',
  'systemId',
  'verifyTls',
  'authMode',
]);

/**
 * Power over DMTF Redfish (DSP0266): `ComputerSystem.Reset` (`On`, `ForceOff`,
 * `ForceRestart`), `PowerState`, and a `Boot` override (`Once`/`Continuous`, `Pxe`/`Hdd`,
 * `BootSourceOverrideMode: UEFI` when asked). The system is `/redfish/v1/Systems/<systemId>`
 * or the first member of `/redfish/v1/Systems`, found once per BMC.
 *
 * "On" reads `PowerState` first and does nothing when the machine is on or powering on; "cycle"
 * of a machine that is off is "On" (some BMCs refuse `ForceRestart` then), and without
 * `ForceRestart` among the allowed reset types it is `ForceOff` then `On`.
 *
 * Query maps the transitional states to the state not yet reached (`PoweringOn` → off,
 * `PoweringOff` → on) so that set-power's verification keeps polling until the change is done.
 */
export function createRedfishPowerDriver(options: RedfishDriverOptions = {}): RedfishPowerDriver {
  const call = createRedfishClient({ timeoutMs: options.timeoutMs ?? 15_000 });
  /** System paths found by discovery, by origin and user. */
  const systemPaths = new Map<string, string>();

  const endpointOf = (p: RedfishPowerParams): RedfishEndpoint => ({
    origin: new URL(p.address).origin,
    username: p.username,
    password: p.password,
    verifyTls: p.verifyTls,
    authMode: p.authMode,
  });

  const systemPath = async (
    p: RedfishPowerParams,
    signal: AbortSignal,
  ): Promise<Result<string, PowerError>> => {
    if (p.systemId !== undefined) {
      return ok(`/redfish/v1/Systems/${encodeURIComponent(p.systemId)}`);
    }
    const key = `${new URL(p.address).origin}\0${p.username}`;
    const known = systemPaths.get(key);
    if (known !== undefined) return ok(known);
    const listed = await call(endpointOf(p), 'GET', '/redfish/v1/Systems', { signal });
    if (!listed.ok) return listed;
    if (listed.value.status !== 200) {
      return err(statusError('GET /redfish/v1/Systems', listed.value, 'action'));
    }
    const members: unknown = field(listed.value.body, 'Members');
    const first: unknown = Array.isArray(members) ? members[0] : undefined;
    const path: unknown = field(first, '@odata.id');
    if (typeof path !== 'string' || !path.startsWith('/')) {
      return err({ kind: 'settings', message: 'Redfish BMC lists no systems' });
    }
    systemPaths.set(key, path);
    return ok(path);
  };

  const readSystem = async (
    p: RedfishPowerParams,
    signal: AbortSignal,
  ): Promise<Result<SystemView & { readonly path: string }, PowerError>> => {
    const path = await systemPath(p, signal);
    if (!path.ok) return path;
    const got = await call(endpointOf(p), 'GET', path.value, { signal });
    if (!got.ok) return got;
    if (got.value.status === 404) {
      systemPaths.clear();
      return err({ kind: 'settings', message: `Redfish BMC has no system at ${path.value}` });
    }
    if (got.value.status !== 200) {
      return err(statusError(`GET ${path.value}`, got.value, 'action'));
    }
    return ok({ path: path.value, ...parseSystem(path.value, got.value.body, got.value.headers) });
  };

  const reset = async (
    p: RedfishPowerParams,
    system: SystemView,
    resetType: 'On' | 'ForceOff' | 'ForceRestart',
    signal: AbortSignal,
  ): Promise<Result<void, PowerError>> => {
    if (system.resetTypes !== undefined && !system.resetTypes.includes(resetType)) {
      return err({
        kind: 'unsupported',
        message: `Redfish BMC does not offer ResetType ${resetType} (it offers ${system.resetTypes.join(', ')})`,
      });
    }
    const body = { ResetType: resetType };
    const posted = await call(endpointOf(p), 'POST', system.resetTarget, { body, signal });
    if (!posted.ok) return posted;
    if (posted.value.status >= 200 && posted.value.status <= 299) return ok(undefined);
    return err(statusError(`Reset ${resetType}`, posted.value, 'action'));
  };

  const done = (message: string): Result<PowerActionOutcome, PowerError> =>
    ok({ state: 'unknown', message });

  return {
    type: 'redfish',
    secretFields: ['password'],
    parseParams: parseRedfishParams,

    async on(p, context) {
      const system = await readSystem(p, context.signal);
      if (!system.ok) return system;
      const state = system.value.powerState;
      if (state === 'On' || state === 'PoweringOn') {
        // Never restart a running machine; a boot override set before stays for its next boot.
        return ok({ state: 'on', message: `already ${state}; not restarted` });
      }
      // `On` is harmless to a machine that is on (DSP0268), so an unknown state still gets it.
      const sent = await reset(p, system.value, 'On', context.signal);
      return sent.ok ? done('Redfish reset On') : sent;
    },

    async off(p, context) {
      const system = await readSystem(p, context.signal);
      if (!system.ok) return system;
      if (system.value.powerState === 'Off') return ok({ state: 'off', message: 'already Off' });
      const sent = await reset(p, system.value, 'ForceOff', context.signal);
      return sent.ok ? done('Redfish reset ForceOff') : sent;
    },

    async cycle(p, context) {
      const system = await readSystem(p, context.signal);
      if (!system.ok) return system;
      if (toPowerState(system.value.powerState) === 'off') {
        const sent = await reset(p, system.value, 'On', context.signal);
        return sent.ok ? done('Redfish reset On (machine was off)') : sent;
      }
      const types = system.value.resetTypes;
      if (types === undefined || types.includes('ForceRestart')) {
        const sent = await reset(p, system.value, 'ForceRestart', context.signal);
        return sent.ok ? done('Redfish reset ForceRestart') : sent;
      }
      const off = await reset(p, system.value, 'ForceOff', context.signal);
      if (!off.ok) return off;
      const on = await reset(p, system.value, 'On', context.signal);
      return on.ok ? done('Redfish reset ForceOff, then On') : on;
    },

    async query(p, context) {
      const system = await readSystem(p, context.signal);
      return system.ok ? ok(toPowerState(system.value.powerState)) : system;
    },

    async setBootDevice(
      p: RedfishPowerParams,
      device: BootDevice,
      options: BootDeviceOptions,
      context: PowerActionContext,
    ) {
      const system = await readSystem(p, context.signal);
      if (!system.ok) return system;
      const target = device === 'pxe' ? 'Pxe' : 'Hdd';
      const { bootTargets, bootModes, etag, path } = system.value;
      if (bootTargets !== undefined && !bootTargets.includes(target)) {
        return err({ kind: 'unsupported', message: `Redfish BMC cannot boot override ${target}` });
      }
      if (options.uefi && bootModes !== undefined && !bootModes.includes('UEFI')) {
        return err({ kind: 'unsupported', message: 'Redfish BMC cannot override to UEFI mode' });
      }
      const body = {
        Boot: {
          BootSourceOverrideEnabled: options.persistent ? 'Continuous' : 'Once',
          BootSourceOverrideTarget: target,
          ...(options.uefi ? { BootSourceOverrideMode: 'UEFI' } : {}),
        },
      };
      // Some BMCs (HPE iLO 5, newer iDRAC) want If-Match on PATCH when they send an ETag.
      const headers: Record<string, string> = etag === undefined ? {} : { 'If-Match': etag };
      const patched = await call(endpointOf(p), 'PATCH', path, {
        body,
        headers,
        signal: context.signal,
      });
      if (!patched.ok) return patched;
      if (patched.value.status >= 200 && patched.value.status <= 299) return ok(undefined);
      return err(statusError(`PATCH ${path} Boot`, patched.value, 'action'));
    },
  };
}

/** Validates {@link RedfishPowerParams}; every failure is a `settings` error. */
export function parseRedfishParams(raw: unknown): Result<RedfishPowerParams, PowerError> {
  const bad = (message: string): Result<never, PowerError> =>
    err({ kind: 'settings', message: `redfish: ${message}` });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return bad('parameters must be an object');
  }
  for (const key of Object.keys(raw)) {
    if (!PARAM_KEYS.has(key)) return bad(`unknown parameter "${key}"`);
  }
  const get = (name: string): unknown => Reflect.get(raw, name);
  const address = get('address');
  if (typeof address !== 'string') return bad('address must be a URL string');
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return bad('address must be a URL such as https://bmc.example');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return bad('address must use https (or http)');
  }
  // Credentials in the URL would end up in messages; they belong in username/password.
  if (url.username !== '' || url.password !== '') return bad('address must not hold credentials');
  const username = get('username');
  if (typeof username !== 'string' || username === '') return bad('username is required');
  const password = get('password');
  if (typeof password !== 'string') return bad('password must be a string');
  const systemId = get('systemId');
  if (systemId !== undefined && (typeof systemId !== 'string' || systemId === '')) {
    return bad('systemId must be a non-empty string');
  }
  const verifyTls = get('verifyTls') ?? true;
  if (typeof verifyTls !== 'boolean') return bad('verifyTls must be a boolean');
  const authMode = get('authMode') ?? 'session';
  if (authMode !== 'session' && authMode !== 'basic') {
    return bad('authMode must be "session" or "basic"');
  }
  return ok({ address, username, password, systemId, verifyTls, authMode });
}

/** Maps `PowerState`; transitional states count as the state not yet reached. */
function toPowerState(value: string | undefined): PowerState {
  switch (value) {
    case 'On':
    case 'PoweringOff':
      return 'on';
    case 'Off':
    case 'PoweringOn':
      return 'off';
    case undefined:
    default:
      return 'unknown';
  }
}

function parseSystem(
  path: string,
  body: unknown,
  headers: Readonly<Record<string, string | string[] | undefined>>,
): SystemView {
  const powerState: unknown = field(body, 'PowerState');
  const action: unknown = field(field(body, 'Actions'), '#ComputerSystem.Reset');
  const target: unknown = field(action, 'target');
  const boot: unknown = field(body, 'Boot');
  const etag = headers['etag'];
  return {
    powerState: typeof powerState === 'string' ? powerState : undefined,
    resetTarget:
      typeof target === 'string' && target.startsWith('/')
        ? target
        : `${path}/Actions/ComputerSystem.Reset`,
    resetTypes: strings(field(action, 'ResetType@Redfish.AllowableValues')),
    bootTargets: strings(field(boot, 'BootSourceOverrideTarget@Redfish.AllowableValues')),
    bootModes: strings(field(boot, 'BootSourceOverrideMode@Redfish.AllowableValues')),
    etag: typeof etag === 'string' ? etag : undefined,
  };
}

function statusError(
  what: string,
  response: { readonly status: number; readonly body: unknown },
  kind: PowerError['kind'],
): PowerError {
  return {
    kind,
    message: `Redfish ${what}: HTTP ${response.status}${describeBody(response.body)}`,
  };
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? Reflect.get(value, name) : undefined;
}

function strings(value: unknown): readonly string[] | undefined {
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined;
}
