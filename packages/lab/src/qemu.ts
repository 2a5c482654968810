/**
 * Virtual machines for the network boot lab: QEMU under TCG (this host's /dev/kvm is unusable),
 * one virtio-net NIC on a lab tap, network boot only, serial console captured line by line with
 * arrival times, a QMP socket for power control, and `-no-reboot` so a guest power-off or reboot
 * ends the process.
 *
 * Firmware:
 * - `bios`: SeaBIOS + the iPXE option ROM QEMU loads for virtio-net (Debian `ipxe-qemu`).
 * - `uefi`: OVMF (`/usr/share/OVMF/OVMF_CODE.fd` + a private copy of `OVMF_VARS.fd`), with the
 *   iPXE EFI ROM (`nicRom: 'ipxe'`, QEMU's default) or OVMF's own PXE stack (`nicRom: 'none'`),
 *   which behaves like a typical UEFI server: it fetches `ipxe.efi` over TFTP first.
 */
import {
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  rmSync,
  truncateSync,
  writeFileSync,
  type WriteStream,
} from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { LabNetwork } from './netns.ts';

/** Firmware of a lab VM. */
export type Firmware = 'bios' | 'uefi';

/** Where OVMF lives (Debian `ovmf`). */
export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE.fd';
/** The template NVRAM copied for each UEFI VM. */
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS.fd';

/** Options of {@link startVm}. */
export interface VmOptions {
  readonly lab: LabNetwork;
  /** Short name used for files (`<name>.serial.log`, `<name>.qmp`). */
  readonly name: string;
  /** NIC MAC, e.g. `52:54:00:31:00:01`. */
  readonly mac: string;
  readonly firmware: Firmware;
  /**
   * NIC option ROM: `ipxe` (QEMU's default for the firmware), `none` (UEFI only: OVMF's own PXE
   * stack), or a path to a ROM file.
   */
  readonly nicRom?: 'ipxe' | 'none' | (string & {});
  /** Directory for the serial log, QMP socket and NVRAM copy (created if missing). */
  readonly workDir: string;
  /** Default 512. */
  readonly memoryMib?: number;
  /** vCPUs (`-smp`). Default 1. */
  readonly cpus?: number;
  /**
   * A virtio-blk disk backed by a raw file, created sparse with `sizeBytes` when missing (an
   * existing file is used as it is, so a second VM can boot what the first wrote). Boot index 2:
   * after the NIC, so it boots when there is no PXE ROM (`nicRom: 'none'`) or PXE finds nothing.
   */
  readonly disk?: { readonly path: string; readonly sizeBytes: number; readonly serial?: string };
  /**
   * BIOS only: mirror SeaBIOS's text console (and so iPXE's messages) onto the serial port
   * (`etc/sercon-port`). Default true; it lets a test see iPXE's progress in the log.
   */
  readonly biosSerialConsole?: boolean;
  /**
   * Add `-no-reboot` (default true). Lab VMs behind a BMC pass false with `-no-shutdown -S` in
   * `extraArgs` (see redfish/README.md, "VM power model").
   */
  readonly noReboot?: boolean;
  /** Extra QEMU arguments, appended. */
  readonly extraArgs?: readonly string[];
}

/** One serial console line and when it arrived (`Date.now()`). */
export interface SerialLine {
  readonly atMs: number;
  /** The line without ANSI escapes and carriage returns. */
  readonly text: string;
}

/** A running (or exited) lab VM. */
export interface Vm {
  readonly name: string;
  readonly mac: string;
  readonly firmware: Firmware;
  /** The tap device in the lab namespace. */
  readonly tap: string;
  /** PID of the QEMU process. */
  readonly pid: number;
  /** `Date.now()` when QEMU was started. */
  readonly startedAtMs: number;
  readonly serialLogPath: string;
  /** Serial lines so far. */
  serialLines(): readonly SerialLine[];
  /**
   * Resolves with the first serial line (past or future) matching `pattern`.
   *
   * @throws after `timeoutMs`, or when QEMU exits first; the message carries the log's tail.
   */
  waitForSerial(pattern: RegExp, timeoutMs: number): Promise<SerialLine>;
  /**
   * Sends one QMP command (`system_powerdown`, `system_reset`, `quit`, `query-status`, …).
   *
   * @returns its `return` value.
   * @throws on a QMP error or when no answer comes within 5 s.
   */
  qmp(command: string, args?: Record<string, unknown>): Promise<unknown>;
  /** Resolves with QEMU's exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /**
   * Resolves when QEMU has exited by itself (guest power-off, `-no-reboot` reboot).
   *
   * @throws after `timeoutMs`.
   */
  waitForExit(timeoutMs: number): Promise<number | null>;
  /** Kills QEMU by PID (SIGTERM, SIGKILL after 2 s) and removes its work files. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a VM that network-boots on a new tap of `options.lab`.
 *
 * @throws when QEMU cannot start (the error carries its stderr).
 */
export async function startVm(options: VmOptions): Promise<Vm> {
  mkdirSync(options.workDir, { recursive: true });
  const tap = await options.lab.addTap();
  const qmpPath = join(options.workDir, `${options.name}.qmp`);
  const serialLogPath = join(options.workDir, `${options.name}.serial.log`);
  const varsPath = join(options.workDir, `${options.name}.OVMF_VARS.fd`);
  rmSync(qmpPath, { force: true });

  const nicRom = options.nicRom ?? 'ipxe';
  let device = `virtio-net-pci,netdev=net0,mac=${options.mac},bootindex=1`;
  if (nicRom === 'none') device += ',romfile=';
  else if (nicRom !== 'ipxe') device += `,romfile=${nicRom}`;

  const args = [
    '-name',
    options.name,
    '-accel',
    'tcg',
    '-cpu',
    'max',
    '-m',
    String(options.memoryMib ?? 512),
    '-smp',
    String(options.cpus ?? 1),
    '-nodefaults',
    '-display',
    'none',
    '-vga',
    'none',
    ...(options.noReboot === false ? [] : ['-no-reboot']),
    '-chardev',
    'stdio,id=serial0,signal=off',
    '-serial',
    'chardev:serial0',
    '-qmp',
    `unix:${qmpPath},server=on,wait=off`,
    '-netdev',
    `tap,id=net0,ifname=${tap},script=no,downscript=no`,
    '-device',
    device,
  ];
  if (options.firmware === 'bios') {
    args.push('-boot', 'order=n');
    if (options.biosSerialConsole ?? true) {
      // SeaBIOS reads etc/sercon-port as a little-endian integer, not as text: COM1 = 0x3f8.
      const sercon = join(options.workDir, `${options.name}.sercon-port`);
      writeFileSync(sercon, Buffer.from([0xf8, 0x03]));
      args.push('-fw_cfg', `name=etc/sercon-port,file=${sercon}`);
    }
  } else {
    copyFileSync(OVMF_VARS, varsPath);
    args.push(
      '-drive',
      `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`,
      '-drive',
      `if=pflash,format=raw,unit=1,file=${varsPath}`,
    );
  }
  if (options.disk !== undefined) {
    if (!existsSync(options.disk.path)) {
      writeFileSync(options.disk.path, '');
      truncateSync(options.disk.path, options.disk.sizeBytes);
    }
    const serial = options.disk.serial === undefined ? '' : `,serial=${options.disk.serial}`;
    args.push(
      '-drive',
      `file=${options.disk.path},format=raw,if=none,id=disk0`,
      '-device',
      `virtio-blk-pci,drive=disk0,bootindex=2${serial}`,
    );
  }
  args.push(...(options.extraArgs ?? []));

  const startedAtMs = Date.now();
  const child = options.lab.spawn('qemu-system-x86_64', args, {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('qemu-system-x86_64 did not start');

  const log: WriteStream = createWriteStream(serialLogPath);
  const lines: SerialLine[] = [];
  const waiters = new Set<() => void>();
  let partial = '';
  let stderr = '';
  const addLine = (raw: string): void => {
    // ANSI CSI sequences (iPXE and OVMF draw with them) and bare carriage returns.
    const text = raw.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r/g, '');
    lines.push({ atMs: Date.now(), text });
    for (const w of waiters) w();
  };
  child.stdout?.on('data', (d: Buffer) => {
    log.write(d);
    const parts = (partial + d.toString('latin1')).split('\n');
    partial = parts.pop() ?? '';
    for (const p of parts) addLine(p);
  });
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      if (partial !== '') addLine(partial);
      partial = '';
      exitCode = code;
      log.end();
      for (const w of waiters) w();
      resolve(code);
    }),
  );

  const tail = (): string =>
    lines
      .slice(-25)
      .map((l) => l.text)
      .join('\n') + (stderr === '' ? '' : `\nqemu stderr: ${stderr.trim()}`);

  const vm: Vm = {
    name: options.name,
    mac: options.mac,
    firmware: options.firmware,
    tap,
    pid,
    startedAtMs,
    serialLogPath,
    serialLines: () => lines,
    waitForSerial(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        let seen = 0;
        const check = (): void => {
          for (; seen < lines.length; seen++) {
            const line = lines[seen]!;
            if (pattern.test(line.text)) {
              done();
              resolve(line);
              return;
            }
          }
          if (exitCode !== undefined) {
            done();
            reject(
              new Error(
                `${options.name}: QEMU exited (${String(exitCode)}) before ${String(pattern)}\n${tail()}`,
              ),
            );
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(
            new Error(`${options.name}: no ${String(pattern)} within ${timeoutMs} ms\n${tail()}`),
          );
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    qmp: (command, qmpArgs) => qmpCommand(qmpPath, command, qmpArgs),
    exited,
    async waitForExit(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${options.name}: still running after ${timeoutMs} ms`)),
          timeoutMs,
        );
      });
      try {
        return await Promise.race([exited, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async stop() {
      if (exitCode === undefined) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // gone already
        }
        const timer = setTimeout(() => {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone already
          }
        }, 2000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(qmpPath, { force: true });
      rmSync(varsPath, { force: true });
    },
  };

  // Fail fast when QEMU rejects its arguments.
  await new Promise((r) => setTimeout(r, 300));
  if (exitCode !== undefined) {
    throw new Error(`qemu-system-x86_64 exited (${String(exitCode)}): ${stderr.trim()}`);
  }
  return vm;
}

/** One QMP exchange on a fresh connection: greeting, `qmp_capabilities`, then `command`. */
async function qmpCommand(
  socketPath: string,
  command: string,
  args?: Record<string, unknown>,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let buffer = '';
    let stage: 'greeting' | 'capabilities' | 'command' = 'greeting';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`QMP ${command}: no answer within 5 s`));
    }, 5000);
    const finish = (error: Error | undefined, value?: unknown): void => {
      clearTimeout(timer);
      socket.end();
      if (error === undefined) resolve(value);
      else reject(error);
    };
    socket.once('error', (e) => finish(new Error(`QMP ${command}: ${e.message}`, { cause: e })));
    socket.on('data', (d: Buffer) => {
      buffer += d.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line === '') continue;
        const msg = JSON.parse(line) as Record<string, unknown>;
        if ('event' in msg) continue;
        if ('error' in msg) {
          finish(new Error(`QMP ${command}: ${JSON.stringify(msg['error'])}`));
          return;
        }
        if (stage === 'greeting') {
          stage = 'capabilities';
          socket.write(`${JSON.stringify({ execute: 'qmp_capabilities' })}\n`);
        } else if (stage === 'capabilities') {
          stage = 'command';
          socket.write(
            `${JSON.stringify(args === undefined ? { execute: command } : { execute: command, arguments: args })}\n`,
          );
        } else {
          finish(undefined, msg['return']);
          return;
        }
      }
    });
  });
}
