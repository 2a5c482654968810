import { err, ok, type Result } from '@ingot/common';
import type { PowerActionOutcome, PowerDriver, PowerError, PowerState } from '../driver.ts';
import { describeQmpAddress, openQmp, type QmpAddress, type QmpConnection } from './qmp-client.ts';

/** Parameters of the `qemu` driver. */
export interface QemuPowerParams {
  /** The VM's QMP server: `unix:/path`, an absolute path, or `tcp:host:port`. */
  readonly qmp: string;
  /** Parsed form of `qmp`. */
  readonly address: QmpAddress;
}

/** Options of {@link createQemuPowerDriver}. */
export interface QemuDriverOptions {
  /** Per QMP answer and for a reset to complete. Default 5 s. */
  readonly timeoutMs?: number;
}

/** Run states after which QEMU refuses `cont` until `system_reset` (the guest powered off). */
const NEEDS_RESET = new Set(['shutdown', 'guest-panicked', 'internal-error']);

/**
 * Power for lab VMs over QMP. A QEMU process that has quit cannot be started again over QMP,
 * so "off" must keep the process: the VM runs with `-no-shutdown` (a guest power-off leaves it
 * in run state `shutdown`) and starts with `-S` (off until powered on), and:
 *
 * - query: `query-status`; running (or guest-suspended) is on, any other run state is off;
 * - on: nothing when running; else `system_reset`, wait for the `RESET` event, `cont` — a cold
 *   boot from firmware, whatever state the VM stopped in;
 * - off: `stop` (vCPUs halt at once, like pulling power), then `system_reset`, so "on" starts
 *   from firmware and a guest sees no resume;
 * - cycle: `system_reset` when running (a hard reset), else "on".
 *
 * There is no boot override: lab VMs network-boot first (`bootindex=1` on the NIC), so
 * `setBootDevice` is left out and set-power notes that it relies on the boot order.
 */
export function createQemuPowerDriver(
  options: QemuDriverOptions = {},
): PowerDriver<QemuPowerParams> {
  const timeoutMs = options.timeoutMs ?? 5000;

  const withQmp = async <T>(
    params: QemuPowerParams,
    signal: AbortSignal,
    use: (qmp: QmpConnection) => Promise<Result<T, PowerError>>,
  ): Promise<Result<T, PowerError>> => {
    const opened = await openQmp(params.address, { timeoutMs, signal });
    if (!opened.ok) return opened;
    try {
      return await use(opened.value);
    } finally {
      opened.value.close();
    }
  };

  const status = async (qmp: QmpConnection): Promise<Result<RunStatus, PowerError>> => {
    const reply = await qmp.execute('query-status');
    if (!reply.ok) return reply;
    const value = reply.value;
    const running: unknown =
      typeof value === 'object' && value !== null ? Reflect.get(value, 'running') : undefined;
    const state: unknown =
      typeof value === 'object' && value !== null ? Reflect.get(value, 'status') : undefined;
    if (typeof running !== 'boolean' || typeof state !== 'string') {
      return err({ kind: 'action', message: 'QMP query-status: unexpected reply' });
    }
    return ok({ running, status: state });
  };

  const hardReset = async (qmp: QmpConnection): Promise<Result<void, PowerError>> => {
    const reset = await qmp.execute('system_reset');
    if (!reset.ok) return reset;
    // QEMU performs the reset in its main loop after answering; `cont` before it is done
    // fails in run state `shutdown`. With `-no-reboot`, QEMU turns every reset (QMP's too)
    // into a shutdown, and such a VM can never be powered on again: a configuration error.
    const event = await qmp.waitForEvent(['RESET', 'SHUTDOWN'], timeoutMs);
    if (event === 'SHUTDOWN') {
      return err({
        kind: 'settings',
        message: 'QEMU turned system_reset into a shutdown: run lab VMs without -no-reboot',
      });
    }
    if (event === undefined) {
      return err({
        kind: 'action',
        message: `QMP system_reset: no RESET event within ${timeoutMs} ms`,
      });
    }
    return ok(undefined);
  };

  const powerOn = async (qmp: QmpConnection): Promise<Result<PowerActionOutcome, PowerError>> => {
    const reset = await hardReset(qmp);
    if (!reset.ok) return reset;
    const after = await status(qmp);
    if (!after.ok) return after;
    if (NEEDS_RESET.has(after.value.status)) {
      return err({
        kind: 'action',
        message: `QEMU still in run state ${after.value.status} after reset`,
      });
    }
    if (!after.value.running) {
      const cont = await qmp.execute('cont');
      if (!cont.ok) return cont;
    }
    return ok({ state: 'on', message: 'QMP system_reset + cont' });
  };

  return {
    type: 'qemu',
    secretFields: [],
    parseParams: parseQemuParams,

    on: (params, context) =>
      withQmp(params, context.signal, async (qmp) => {
        const now = await status(qmp);
        if (!now.ok) return now;
        if (isOn(now.value)) return ok({ state: 'on', message: 'already running; not reset' });
        return powerOn(qmp);
      }),

    off: (params, context) =>
      withQmp(params, context.signal, async (qmp) => {
        const now = await status(qmp);
        if (!now.ok) return now;
        if (!isOn(now.value))
          return ok({ state: 'off', message: `already off (${now.value.status})` });
        const stop = await qmp.execute('stop');
        if (!stop.ok) return stop;
        const reset = await hardReset(qmp);
        if (!reset.ok) return reset;
        return ok({ state: 'off', message: 'QMP stop + system_reset' });
      }),

    cycle: (params, context) =>
      withQmp(params, context.signal, async (qmp) => {
        const now = await status(qmp);
        if (!now.ok) return now;
        if (!isOn(now.value)) return powerOn(qmp);
        const reset = await hardReset(qmp);
        if (!reset.ok) return reset;
        return ok({ state: 'on', message: 'QMP system_reset' });
      }),

    query: (params, context) =>
      withQmp(params, context.signal, async (qmp): Promise<Result<PowerState, PowerError>> => {
        const now = await status(qmp);
        return now.ok ? ok(isOn(now.value) ? 'on' : 'off') : now;
      }),
  };
}

interface RunStatus {
  readonly running: boolean;
  readonly status: string;
}

function isOn(s: RunStatus): boolean {
  return s.running || s.status === 'suspended';
}

/** Validates {@link QemuPowerParams}; failures are `settings` errors. */
export function parseQemuParams(raw: unknown): Result<QemuPowerParams, PowerError> {
  const bad = (message: string): Result<never, PowerError> =>
    err({ kind: 'settings', message: `qemu: ${message}` });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return bad('parameters must be an object');
  }
  for (const key of Object.keys(raw)) {
    if (key !== 'qmp') return bad(`unknown parameter "${key}"`);
  }
  const qmp: unknown = Reflect.get(raw, 'qmp');
  if (typeof qmp !== 'string' || qmp === '')
    return bad('qmp must be unix:<path> or tcp:<host>:<port>');
  const path = qmp.startsWith('unix:') ? qmp.slice(5) : qmp.startsWith('/') ? qmp : undefined;
  if (path !== undefined) {
    if (!path.startsWith('/')) return bad('the QMP socket path must be absolute');
    return ok({ qmp, address: { kind: 'unix', path } });
  }
  const tcp = /^tcp:(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(qmp);
  const port = Number(tcp?.[2]);
  if (tcp === null || port < 1 || port > 65535) {
    return bad('qmp must be unix:<path>, an absolute path, or tcp:<host>:<port>');
  }
  const host = (tcp[1] ?? '').replace(/^\[|\]$/g, '');
  const address: QmpAddress = { kind: 'tcp', host, port };
  return ok({ qmp: describeQmpAddress(address), address });
}
