import { err, ok, type Logger, type Result } from '@ingot/common';
import { execa } from 'execa';
import type {
  PowerActionContext,
  PowerActionOutcome,
  PowerDriver,
  PowerError,
  PowerState,
} from '../driver.ts';
import { redactSecrets } from '../redact.ts';

/** RMCP's UDP port (IPMI 2.0 §13.1.2). */
export const IPMI_DEFAULT_PORT = 623;

/**
 * Cipher suites tried in order when the parameters name none (IPMI 2.0 §22.15.2): 17
 * (HMAC-SHA256, AES-CBC-128) first, then 3 (HMAC-SHA1, AES-CBC-128), which older BMCs and
 * OpenIPMI's `ipmi_sim` require.
 */
export const IPMI_CIPHER_SUITES = [17, 3] as const;

/** Session privilege levels, as `ipmitool -L` spells them. */
export const IPMI_PRIVILEGES = ['USER', 'OPERATOR', 'ADMINISTRATOR'] as const;
/** One of {@link IPMI_PRIVILEGES}. */
export type IpmiPrivilege = (typeof IPMI_PRIVILEGES)[number];

/** IPMI 2.0 limits (§22.28, §22.29): user names 16 bytes, passwords 20. */
const MAX_USERNAME_LENGTH = 16;
const MAX_PASSWORD_LENGTH = 20;

/** Parameters of the `ipmi` driver. `password` is secret. */
export interface IpmiPowerParams {
  /** BMC host name or address. */
  readonly address: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  /** Use only this cipher suite; `undefined` tries {@link IPMI_CIPHER_SUITES}. */
  readonly cipherSuite: number | undefined;
  /** Session privilege; `undefined` leaves ipmitool's default (ADMINISTRATOR). */
  readonly privilege: IpmiPrivilege | undefined;
}

/** One ipmitool run. The password travels separately so that it is never in `args`. */
export interface IpmitoolInvocation {
  readonly args: readonly string[];
  readonly password: string;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
}

/** How an ipmitool run ended. `exited` carries the exit code; the rest never started or ended. */
export interface IpmitoolExit {
  readonly end: 'exited' | 'not-found' | 'timed-out' | 'aborted' | 'spawn-failed';
  readonly exitCode: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs ipmitool. Injected so that tests can count and inspect invocations. */
export type IpmitoolRunner = (invocation: IpmitoolInvocation) => Promise<IpmitoolExit>;

/**
 * The real {@link IpmitoolRunner}, on execa: the password goes in `IPMI_PASSWORD` for
 * `ipmitool -E`, so it never appears in `ps`; the child is killed on timeout or abort.
 * It never rejects.
 */
export function createExecaIpmitoolRunner(binary = 'ipmitool'): IpmitoolRunner {
  return async ({ args, password, timeoutMs, signal }) => {
    const result = await execa(binary, args, {
      env: { IPMI_PASSWORD: password },
      stdin: 'ignore',
      reject: false,
      timeout: timeoutMs,
      cancelSignal: signal,
      forceKillAfterDelay: 1000,
    });
    const text = { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode };
    if (result.timedOut) return { end: 'timed-out', ...text };
    if (result.isCanceled) return { end: 'aborted', ...text };
    if (result.exitCode !== undefined) return { end: 'exited', ...text };
    const code: unknown = result.cause instanceof Error ? Reflect.get(result.cause, 'code') : '';
    return { end: code === 'ENOENT' ? 'not-found' : 'spawn-failed', ...text };
  };
}

/** Options of {@link createIpmiPowerDriver}. */
export interface IpmiPowerDriverOptions {
  /** Default: {@link createExecaIpmitoolRunner}. */
  readonly runner?: IpmitoolRunner;
  /** Kill ipmitool after this long. Default 60 s (ipmitool's own retries take ~20 s). */
  readonly timeoutMs?: number;
  /** ipmitool's per-request timeout (`-N`) and retries (`-R`); default: ipmitool's. */
  readonly session?: { readonly timeoutSeconds: number; readonly retries: number };
  /** Cipher-suite fallbacks are logged at `info`, each run at `debug`; never a password. */
  readonly logger?: Logger;
}

/** A failure before mapping: `cipher` means "this BMC refused the suite; try the next". */
type RunFailure = PowerError | { readonly kind: 'cipher'; readonly message: string };

// `ipmitool -v` chatter that ipmi_sim and real BMCs print on success too; never a cause.
const NOISE =
  /^(Loading IANA PEN Registry|Running Get VSO|Invalid completion code received|Discovered IPMB|Get HPM\.x)/;
// RMCP+ Open Session response status codes (IPMI 2.0 table 13-15) meaning "not this suite".
const CIPHER_REJECTED =
  /open session response message : (invalid (authentication|integrity|confidentiality) algorithm|no matching)|Unsupported cipher suite/i;
// RAKP 2 status (table 13-15) or HMAC mismatch: the user or password is wrong.
const AUTH_REJECTED = /unauthorized name|HMAC is invalid|invalid integrity check value|RAKP \d/i;
const PRIVILEGE_DENIED = /insufficient privilege|privilege level|(invalid|unauthorized) role/i;
const UNREACHABLE =
  /Get Auth Capabilities error|Address lookup .* failed|Could not open socket|No response|Unable to establish/i;
const NOT_SUPPORTED = /invalid command|not supported|parameter not supported/i;

/**
 * The `ipmi` power driver: `ipmitool -I lanplus` (IPMI 2.0 RMCP+), one process per request.
 *
 * - Cipher suites: without `cipherSuite` it tries 17, and when the BMC refuses that suite
 *   (quirk(OpenIPMI ipmi_sim): "invalid authentication algorithm"), 3. The suite that worked is
 *   remembered per BMC and user for the life of the driver and tried first next time.
 * - "On" queries first and sends `chassis power on` only when the machine is off, so it never
 *   resets a running machine; "cycle" sends `chassis power cycle` only when on (BMCs refuse it
 *   when off) and `chassis power on` otherwise; "off" skips machines that are already off.
 * - Errors: a wrong user or password → `auth`, no answer or timeout → `connection`, ipmitool
 *   missing → `tool-missing`, invalid parameters or no usable suite → `settings`, a refused
 *   command → `action` (or `unsupported` for boot devices). Messages and logs never hold the
 *   password; ipmitool gets it through `IPMI_PASSWORD` (`-E`), never in its arguments.
 */
export function createIpmiPowerDriver(
  options: IpmiPowerDriverOptions = {},
): PowerDriver<IpmiPowerParams> {
  const runner = options.runner ?? createExecaIpmitoolRunner();
  const timeoutMs = options.timeoutMs ?? 60_000;
  const logger = options.logger;
  /** Working suite per `address:port/user`; a BMC does not change suites while it runs. */
  const workingSuite = new Map<string, number>();

  async function ipmitool(
    params: IpmiPowerParams,
    command: readonly string[],
    context: PowerActionContext,
  ): Promise<Result<IpmitoolExit, PowerError>> {
    const bmc = `${params.address}:${params.port}`;
    const key = `${bmc}/${params.username}`;
    const remembered = workingSuite.get(key);
    const suites =
      params.cipherSuite !== undefined
        ? [params.cipherSuite]
        : remembered !== undefined
          ? [remembered, ...IPMI_CIPHER_SUITES.filter((suite) => suite !== remembered)]
          : [...IPMI_CIPHER_SUITES];
    const redact = (text: string): string => redactSecrets(text, params, ['password']);
    for (const [index, suite] of suites.entries()) {
      const args = [
        ...['-I', 'lanplus', '-H', params.address, '-p', String(params.port)],
        ...['-U', params.username, '-E', '-C', String(suite)],
        ...(params.privilege === undefined ? [] : ['-L', params.privilege]),
        ...(options.session === undefined
          ? []
          : ['-N', String(options.session.timeoutSeconds), '-R', String(options.session.retries)]),
        // -v makes ipmitool say why a session failed (RAKP errors); without it all look alike.
        '-v',
        ...command,
      ];
      logger?.debug('ipmitool', { bmc, args: redact(args.join(' ')) });
      const exit = await runner({
        args,
        password: params.password,
        timeoutMs,
        signal: context.signal,
      });
      const failure = classify(exit, bmc, params.username, command, timeoutMs);
      if (failure === undefined) {
        workingSuite.set(key, suite);
        return ok(exit);
      }
      if (failure.kind !== 'cipher') return err({ ...failure, message: redact(failure.message) });
      const next = suites[index + 1];
      if (next !== undefined) {
        logger?.info('ipmi cipher suite refused; falling back', { bmc, from: suite, to: next });
      }
    }
    workingSuite.delete(key);
    return err({
      kind: 'settings',
      message: `BMC ${bmc} refused cipher suite ${suites.join(', ')}; set cipherSuite to one it supports`,
    });
  }

  async function query(
    params: IpmiPowerParams,
    context: PowerActionContext,
  ): Promise<Result<PowerState, PowerError>> {
    const out = await ipmitool(params, ['chassis', 'power', 'status'], context);
    if (!out.ok) return out;
    const match = /Chassis Power is (on|off)/i.exec(out.value.stdout);
    if (match?.[1] === undefined) {
      return err({
        kind: 'action',
        message: `unexpected power status: ${out.value.stdout.trim()}`,
      });
    }
    return ok(match[1].toLowerCase() === 'on' ? 'on' : 'off');
  }

  async function chassisPower(
    params: IpmiPowerParams,
    verb: 'on' | 'off' | 'cycle',
    state: PowerState,
    context: PowerActionContext,
  ): Promise<Result<PowerActionOutcome, PowerError>> {
    const out = await ipmitool(params, ['chassis', 'power', verb], context);
    if (!out.ok) return out;
    return ok({ state, message: `ipmi: chassis power ${verb} sent to ${params.address}` });
  }

  return {
    type: 'ipmi',
    secretFields: ['password'],
    parseParams: parseIpmiParams,
    query,
    async on(params, context) {
      const before = await query(params, context);
      if (!before.ok) return before;
      if (before.value === 'on') {
        return ok({ state: 'on', message: `ipmi: ${params.address} is already on; left running` });
      }
      return chassisPower(params, 'on', 'on', context);
    },
    async off(params, context) {
      const before = await query(params, context);
      if (!before.ok) return before;
      if (before.value === 'off') {
        return ok({ state: 'off', message: `ipmi: ${params.address} is already off` });
      }
      return chassisPower(params, 'off', 'off', context);
    },
    async cycle(params, context) {
      const before = await query(params, context);
      if (!before.ok) return before;
      // A cycle passes through off; the state right after it is not known yet.
      if (before.value === 'on') return chassisPower(params, 'cycle', 'unknown', context);
      return chassisPower(params, 'on', 'on', context);
    },
    async setBootDevice(params, device, bootOptions, context) {
      // ipmitool: without `persistent` the override is for the next boot only. quirk(IPMI 2.0
      // §28.12): BMCs drop an unused one-time override after 60 s, so set-power sets it just
      // before powering on.
      const flags = [
        ...(bootOptions.persistent ? ['persistent'] : []),
        ...(bootOptions.uefi ? ['efiboot'] : []),
      ];
      const bootdev = ['chassis', 'bootdev', device === 'pxe' ? 'pxe' : 'disk'];
      const out = await ipmitool(
        params,
        flags.length === 0 ? bootdev : [...bootdev, `options=${flags.join(',')}`],
        context,
      );
      if (!out.ok) {
        return out.error.kind === 'action' && NOT_SUPPORTED.test(out.error.message)
          ? err({ kind: 'unsupported', message: out.error.message })
          : out;
      }
      // quirk(ipmitool 1.8.19): `chassis bootdev` exits 0 when the BMC refuses boot parameter 5
      // ("Set Chassis Boot Parameter 5 failed: …"); only the stdout line proves success.
      if (!/Set Boot Device to/i.test(out.value.stdout)) {
        const cause = significantLines(out.value).find((line) => /failed/i.test(line)) ?? '';
        const kind = NOT_SUPPORTED.test(cause) ? 'unsupported' : 'action';
        const message = `ipmi: boot device not set on ${params.address}: ${cause}`;
        return err({ kind, message: redactSecrets(message, params, ['password']) });
      }
      return ok(undefined);
    },
  };
}

/** Maps one ipmitool run to a failure, or `undefined` on success. Messages hold no password. */
function classify(
  exit: IpmitoolExit,
  bmc: string,
  username: string,
  command: readonly string[],
  timeoutMs: number,
): RunFailure | undefined {
  switch (exit.end) {
    case 'not-found':
      return { kind: 'tool-missing', message: 'ipmitool not found (Debian package ipmitool)' };
    case 'spawn-failed':
      return { kind: 'tool-missing', message: 'ipmitool could not be started' };
    case 'timed-out':
      return { kind: 'connection', message: `ipmitool timed out after ${timeoutMs} ms on ${bmc}` };
    case 'aborted':
      return { kind: 'connection', message: `ipmitool on ${bmc} aborted` };
    case 'exited':
      break;
  }
  if (exit.exitCode === 0) return undefined;
  const lines = significantLines(exit);
  const text = lines.join('\n');
  const cause = lines.find((line) => !/^Error: Unable to establish/.test(line)) ?? lines[0] ?? '';
  if (CIPHER_REJECTED.test(text)) return { kind: 'cipher', message: cause };
  if (AUTH_REJECTED.test(text)) {
    return { kind: 'auth', message: `BMC ${bmc} rejected user "${username}" or its password` };
  }
  if (PRIVILEGE_DENIED.test(text)) {
    return { kind: 'auth', message: `BMC ${bmc}: user "${username}" lacks privilege (${cause})` };
  }
  if (UNREACHABLE.test(text)) return { kind: 'connection', message: `no answer from BMC ${bmc}` };
  return { kind: 'action', message: `ipmitool ${command.join(' ')} on ${bmc} failed: ${cause}` };
}

/** ipmitool's output lines without the `-v` chatter of {@link NOISE}. */
function significantLines(exit: Pick<IpmitoolExit, 'stdout' | 'stderr'>): string[] {
  return `${exit.stderr}\n${exit.stdout}`
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !NOISE.test(line));
}

/**
 * Validates raw `ipmi` parameters: `{ address, port?, username, password, cipherSuite?,
 * privilege? }`. Numbers may come as decimal strings (forms). Every failure is a `settings` error
 * whose message names the field but never echoes the password.
 */
export function parseIpmiParams(raw: unknown): Result<IpmiPowerParams, PowerError> {
  const bad = (message: string): Result<IpmiPowerParams, PowerError> =>
    err({ kind: 'settings', message: `ipmi: ${message}` });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return bad('parameters must be an object with address, username and password');
  }
  const field = (name: string): unknown => Reflect.get(raw, name);
  const address = field('address');
  // A leading '-' would read as an ipmitool option; white space is never part of a host.
  if (typeof address !== 'string' || !/^[^\s-][^\s]*$/.test(address)) {
    return bad('address must be a host name or IP address');
  }
  const port = integer(field('port') ?? IPMI_DEFAULT_PORT);
  if (port === undefined || port < 1 || port > 65_535) return bad('port must be 1-65535');
  const username = field('username');
  if (typeof username !== 'string' || username.length > MAX_USERNAME_LENGTH) {
    return bad(`username must be a string of at most ${MAX_USERNAME_LENGTH} characters`);
  }
  const password = field('password');
  if (typeof password !== 'string' || password.length > MAX_PASSWORD_LENGTH) {
    return bad(`password must be a string of at most ${MAX_PASSWORD_LENGTH} characters`);
  }
  // null (a cleared form field) means "not set", like undefined.
  const rawSuite = field('cipherSuite') ?? undefined;
  let cipherSuite: number | undefined;
  if (rawSuite !== undefined) {
    cipherSuite = integer(rawSuite);
    if (cipherSuite === undefined || cipherSuite > 17) return bad('cipherSuite must be 0-17');
  }
  const rawPrivilege = field('privilege') ?? undefined;
  let privilege: IpmiPrivilege | undefined;
  if (rawPrivilege !== undefined) {
    const upper = typeof rawPrivilege === 'string' ? rawPrivilege.toUpperCase() : '';
    privilege = IPMI_PRIVILEGES.find((p) => p === (upper === 'ADMIN' ? 'ADMINISTRATOR' : upper));
    if (privilege === undefined)
      return bad(`privilege must be one of ${IPMI_PRIVILEGES.join(', ')}`);
  }
  return ok({ address, port, username, password, cipherSuite, privilege });
}

/** A non-negative integer from a number or a decimal string; `undefined` otherwise. */
function integer(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : undefined;
}
