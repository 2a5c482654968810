/**
 * A virtual BMC for tests and the lab: OpenIPMI's `ipmi_sim` (Debian `openipmi`) speaking IPMI
 * 2.0 over LAN (RMCP+), configured from files generated into a private temp dir.
 *
 * Chassis control: `ipmi_sim` runs a script for every power or boot-device change and every
 * power read (`<script> 0x20 get power`, `… set power 0|1`, `… set reset 1`, `… set boot pxe`).
 * The generated script records each call and the state in files in the temp dir, so a test can
 * check what the BMC was told. With {@link IpmiSimOptions.chassisCommand} it also forwards every
 * call to that command and asks it for the power state: that is how the lab makes the BMC drive a
 * QEMU VM (over QMP) instead of a file.
 *
 * quirk(OpenIPMI ipmi_sim 1.0.13): it rejects ipmitool's default cipher suite 17 ("invalid
 * authentication algorithm"; use `-C 3`); `chassis power cycle` reports `off` for about a second
 * before it sets power on again; the boot flags (`bootparam get 5`) only reflect the device the
 * chassis script returns, never the EFI or "valid" bits, so `options=efiboot` is not observable.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import {
  chmodSync,
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

/** The cipher suite `ipmi_sim` accepts (it rejects 17). */
export const IPMI_SIM_CIPHER_SUITE = 3;

/** Options of {@link startIpmiSim}. */
export interface IpmiSimOptions {
  /** Address the LAN channel listens on. Default `127.0.0.1`. */
  readonly address?: string;
  /** UDP port. Default: a free port on `address` (623 when {@link wrap} is given). */
  readonly port?: number;
  /** Default `ingot`. */
  readonly username?: string;
  /** Default: 16 random hex characters. At most 20 characters (IPMI 2.0). */
  readonly password?: string;
  /** Power state of the file-backed chassis at start. Default `off`. */
  readonly initialPower?: 'on' | 'off';
  /**
   * Optional chassis command (argv). It is called as `<command> get power` (must print `0` or
   * `1`) and `<command> set <power|reset|boot> <value>` (exit non-zero to fail the IPMI request),
   * after the script has recorded the call.
   */
  readonly chassisCommand?: readonly string[];
  /**
   * Prefix to start `ipmi_sim` and the readiness probe under, e.g. `['ip', 'netns', 'exec', ns]`
   * to put the BMC inside a lab namespace. It must `exec` the command so the PID stays the same.
   */
  readonly wrap?: readonly string[];
  /** Bound on waiting for the BMC to answer. Default 10 s. */
  readonly readyTimeoutMs?: number;
}

/** One chassis-control call `ipmi_sim` made, oldest first. */
export interface ChassisCall {
  readonly op: 'get' | 'set' | 'check';
  /** `['power']`, `['power', '1']`, `['boot', 'pxe']`, … */
  readonly args: readonly string[];
}

/** A running simulated BMC. */
export interface IpmiSim {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  readonly pid: number;
  /** The temp dir with `lan.conf`, `bmc.emu`, `chassis-control.sh`, state and logs. */
  readonly dir: string;
  /** The chassis power the script last recorded. */
  powerState(): 'on' | 'off';
  /** The boot device the script last recorded (`default` until one is set). */
  bootDevice(): string;
  /** Every chassis-control call so far. */
  chassisCalls(): ChassisCall[];
  /** `ipmi_sim`'s own output (stdout and stderr). */
  output(): string;
  /** Stops `ipmi_sim` by PID (SIGTERM, then SIGKILL after 2 s) and removes the temp dir. */
  stop(): Promise<void>;
}

/** The files {@link writeIpmiSimConfig} wrote. */
export interface IpmiSimFiles {
  readonly lanConf: string;
  readonly emu: string;
  readonly chassisScript: string;
  readonly stateDir: string;
}

/** Quotes one word for POSIX `sh`. */
function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Quotes one word for `lan.conf`, whose strings are double-quoted without escapes. */
function confQuote(word: string): string {
  if (/["\s]/.test(word)) throw new Error(`ipmi_sim config cannot hold ${JSON.stringify(word)}`);
  return `"${word}"`;
}

/**
 * Writes `lan.conf`, the emulator command file and the chassis-control script into `dir`.
 *
 * @throws when a value cannot be written into `lan.conf` (quotes or white space).
 */
export function writeIpmiSimConfig(
  dir: string,
  settings: {
    readonly address: string;
    readonly port: number;
    readonly username: string;
    readonly password: string;
    readonly initialPower: 'on' | 'off';
    readonly chassisCommand?: readonly string[] | undefined;
  },
): IpmiSimFiles {
  const stateDir = join(dir, 'state');
  mkdirSync(stateDir, { recursive: true });
  const chassisScript = join(dir, 'chassis-control.sh');
  writeFileSync(join(dir, 'power'), settings.initialPower === 'on' ? '1\n' : '0\n');
  writeFileSync(join(dir, 'boot'), 'default\n');
  writeFileSync(join(dir, 'calls.log'), '');
  const hook = settings.chassisCommand?.map(shellQuote).join(' ') ?? '';
  // ipmi_sim: `<script> <mc> get <parm>…` prints `<parm>:<value>` lines; `set <parm> <value>…`
  // prints nothing on success; a non-zero exit fails the IPMI request.
  const script = `#!/bin/sh
dir=${shellQuote(dir)}
hook=${shellQuote(hook)}
shift
op=$1
shift
echo "$op $*" >> "$dir/calls.log"
case $op in
get)
  for parm in "$@"; do
    case $parm in
    power)
      if [ -n "$hook" ]; then value=$(eval "$hook get power") || exit 1; else value=$(cat "$dir/power"); fi ;;
    boot) value=$(cat "$dir/boot") ;;
    *) echo "unknown parameter $parm"; exit 1 ;;
    esac
    echo "$parm:$value"
  done ;;
set)
  while [ $# -ge 2 ]; do
    parm=$1; value=$2; shift 2
    case $parm in
    power) echo "$value" > "$dir/power" ;;
    boot) echo "$value" > "$dir/boot" ;;
    reset|identify) ;;
    *) echo "unknown parameter $parm"; exit 1 ;;
    esac
    if [ -n "$hook" ]; then eval "$hook set $parm $value" || exit 1; fi
  done ;;
check) exit 0 ;;
*) echo "unknown operation $op"; exit 1 ;;
esac
`;
  writeFileSync(chassisScript, script);
  chmodSync(chassisScript, 0o755);

  const lanConf = join(dir, 'lan.conf');
  writeFileSync(
    lanConf,
    [
      'name "ingot-lab-bmc"',
      'set_working_mc 0x20',
      '  startlan 1',
      `    addr ${settings.address} ${settings.port}`,
      '    priv_limit admin',
      // IPMI 1.5 auth types; lanplus (RMCP+) negotiates its own algorithms by cipher suite.
      '    allowed_auths_callback none md2 md5 straight',
      '    allowed_auths_user none md2 md5 straight',
      '    allowed_auths_operator none md2 md5 straight',
      '    allowed_auths_admin none md2 md5 straight',
      '    guid a123456789abcdefa123456789abcdef',
      '  endlan',
      // The script path comes from mkdtemp, so it is one word; confQuote checks that.
      `  chassis_control "${confQuote(chassisScript).slice(1, -1)} 0x20"`,
      // user <n> <enabled> <name> <password> <max-priv> <max-sessions> <1.5 auths>
      `  user 2 true ${confQuote(settings.username)} ${confQuote(settings.password)} admin 10 none md2 md5 straight`,
      '',
    ].join('\n'),
  );
  const emu = join(dir, 'bmc.emu');
  writeFileSync(
    emu,
    [
      'mc_setbmc 0x20',
      // IPMB addr, device id, SDRs, device rev, fw major/minor, support bits, manufacturer, product
      'mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02',
      'mc_enable 0x20',
      '',
    ].join('\n'),
  );
  return { lanConf, emu, chassisScript, stateDir };
}

/** A UDP port that was free on `address` a moment ago. */
async function freeUdpPort(address: string): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, address, resolve);
  });
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}

/**
 * Starts `ipmi_sim` with a fresh config and waits until it answers `chassis power status` over
 * lanplus (cipher suite 3).
 *
 * @throws when `ipmi_sim` or `ipmitool` is missing, exits early, or does not answer within
 *   `readyTimeoutMs`; everything it started is stopped and removed first.
 */
export async function startIpmiSim(options: IpmiSimOptions = {}): Promise<IpmiSim> {
  const wrap = options.wrap ?? [];
  const host = options.address ?? '127.0.0.1';
  const port = options.port ?? (wrap.length > 0 ? 623 : await freeUdpPort(host));
  const username = options.username ?? 'ingot';
  const password =
    options.password ?? [...crypto.getRandomValues(new Uint8Array(8))].map(hex).join('');
  const dir = mkdtempSync(join(tmpdir(), 'ingot-ipmi-sim-'));
  const files = writeIpmiSimConfig(dir, {
    address: host,
    port,
    username,
    password,
    initialPower: options.initialPower ?? 'off',
    chassisCommand: options.chassisCommand,
  });
  const logFd = openSync(join(dir, 'ipmi_sim.log'), 'a');
  const argv = [
    ...wrap,
    'ipmi_sim',
    ...['-c', files.lanConf, '-f', files.emu, '-s', files.stateDir],
    '-n', // no console on stdio
    '-p', // no persistent state: users and settings come from lan.conf every time
  ];
  const [command = 'ipmi_sim', ...args] = argv;
  const child = spawn(command, args, { stdio: ['ignore', logFd, logFd], detached: false });
  closeSync(logFd);
  const status: { exited: string | undefined } = { exited: undefined };
  // A call, not a property read: TypeScript would narrow the read across the awaits below.
  const running = (): boolean => status.exited === undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      status.exited = `exit ${String(code ?? signal)}`;
      resolve();
    });
    child.once('error', (error) => {
      status.exited = error.message;
      resolve();
    });
  });
  const output = (): string => readText(join(dir, 'ipmi_sim.log'));

  const stop = async (): Promise<void> => {
    if (running() && child.pid !== undefined) {
      process.kill(child.pid, 'SIGTERM');
      const killed = await Promise.race([
        exit.then(() => true),
        delay(2000, false, { ref: false }),
      ]);
      if (!killed && running()) {
        process.kill(child.pid, 'SIGKILL');
        await Promise.race([exit, delay(2000, undefined, { ref: false })]);
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 10_000);
  let lastProbe = '';
  for (;;) {
    if (!running()) {
      const text = output();
      await stop();
      throw new Error(`ipmi_sim ended before it was ready (${String(status.exited)}): ${text}`);
    }
    const [probeCmd = 'ipmitool', ...probeArgs] = [
      ...wrap,
      'ipmitool',
      ...['-I', 'lanplus', '-H', host, '-p', String(port), '-U', username, '-E'],
      ...['-C', String(IPMI_SIM_CIPHER_SUITE), '-N', '1', '-R', '1', 'chassis', 'power', 'status'],
    ];
    const probe = await runCommandWithPassword(probeCmd, probeArgs, password);
    if (probe.code === 0) break;
    lastProbe = probe.stderr.trim();
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`ipmi_sim on ${host}:${port} did not answer: ${lastProbe}`);
    }
    await delay(100);
  }

  const pid = child.pid ?? -1;
  return {
    host,
    port,
    username,
    password,
    pid,
    dir,
    powerState: () => (readText(join(dir, 'power')).trim() === '1' ? 'on' : 'off'),
    bootDevice: () => readText(join(dir, 'boot')).trim(),
    chassisCalls: () =>
      readText(join(dir, 'calls.log'))
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => {
          const [op, ...rest] = line.split(' ');
          return { op: op as ChassisCall['op'], args: rest.filter((word) => word !== '') };
        }),
    output,
    stop,
  };
}

/**
 * Runs the readiness probe with the password in `IPMI_PASSWORD` (`ipmitool -E`), so it never
 * shows in `ps`. Resolves with the exit code; SIGKILLed after 5 s.
 */
function runCommandWithPassword(
  command: string,
  args: readonly string[],
  password: string,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      env: { ...process.env, IPMI_PASSWORD: password },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({ code: null, stderr: error.message });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** True when `ipmi_sim` and `ipmitool` are on `PATH` (Debian `openipmi`, `ipmitool`). */
export function ipmiSimAvailable(): boolean {
  const found = spawnSync('sh', ['-c', 'command -v ipmi_sim && command -v ipmitool'], {
    stdio: 'ignore',
    timeout: 5000,
  });
  return found.status === 0;
}

/** A UDP port on 127.0.0.1 that nothing listens on (a BMC that does not answer). */
export function closedUdpPort(): Promise<number> {
  return freeUdpPort('127.0.0.1');
}
