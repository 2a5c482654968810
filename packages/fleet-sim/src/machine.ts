/**
 * One simulated machine: a MAC and a power state. Power on starts what its firmware would do —
 * PXE (DHCP, TFTP the boot program), iPXE (DHCP again, the boot script over HTTP, kernel and
 * initrd), Ingot's initramfs (DHCP, squashfs), then the installer for `ingot.purpose`, a reboot
 * into the next network boot, and the installed OS's first boot. Power off aborts all of it.
 */
import type { DhcpClient, Lease } from './dhcp-client.ts';
import type { DhcpClientKind } from './dhcp-packet.ts';
import { parseIngotCmdline, parseIpxeScript, sha256OfUrl } from './boot-script.ts';
import { httpRequest, sleep, type RetryPolicy } from './http-client.ts';
import {
  fetchSquashfs,
  INITRAMFS_RETRY,
  postInitramfsFail,
  type FailedAttempt,
} from './initramfs.ts';
import { tftpRead } from './tftp-client.ts';
import {
  firstBoot,
  Installer,
  InstallerFailure,
  type InstalledDisk,
  type InstallerRetries,
} from './installer.ts';

/** Everything a machine reports to the fleet's timeline. */
export interface MachineTrace {
  readonly mac: string;
  /** ms since the epoch. */
  readonly at: number;
  readonly step: string;
  readonly detail?: Record<string, unknown> | undefined;
}

/** Shared by every machine of a fleet. */
export interface MachineEnv {
  readonly dhcp: DhcpClient;
  readonly retries: InstallerRetries;
  /** The OS's metadata fetches (cloud-init retries; the tiny init does not). */
  readonly osRetry: RetryPolicy;
  /** iPXE's answer to a failed fetch: `sleep 10; reboot`. */
  readonly ipxeRebootDelayMs: number;
  /** Network boots one power-on may try before the machine halts ("no bootable device"). */
  readonly maxBootsPerPowerOn: number;
  readonly stepDelayMs: number;
  /**
   * Firmware POST after a reboot, before the NIC's PXE ROM sends its first DHCPDISCOVER (QEMU
   * with SeaBIOS takes 1–3 s, servers 10–60 s).
   */
  readonly rebootPostMs: number;
  /** Makes the leased address usable as a source address (no-op with an AnyIP route). */
  readonly claimAddress: (ip: string) => Promise<void>;
  readonly trace: (t: MachineTrace) => void;
}

/** A simulated machine. */
export class SimMachine {
  readonly mac: string;
  #env: MachineEnv;
  #power: 'on' | 'off' = 'off';
  #run: AbortController | undefined;
  #disk: InstalledDisk | undefined;
  #running: Promise<void> = Promise.resolve();
  /** Every address an ACK gave this machine. */
  readonly ips = new Set<string>();

  constructor(mac: string, env: MachineEnv) {
    this.mac = mac;
    this.#env = env;
  }

  get power(): 'on' | 'off' {
    return this.#power;
  }

  #trace(step: string, detail?: Record<string, unknown>): void {
    this.#env.trace({ mac: this.mac, at: Date.now(), step, detail });
  }

  /** BMC "on": a powered-off machine starts booting; an "on" one is left alone (no hard cycle). */
  powerOn(): void {
    if (this.#power === 'on') return;
    this.#power = 'on';
    this.#trace('power.on');
    const run = new AbortController();
    this.#run = run;
    const previous = this.#running;
    this.#running = previous.then(() => this.#boot(run.signal)).catch(() => undefined);
  }

  /** BMC "off": whatever runs stops at once. */
  powerOff(): void {
    if (this.#power === 'off') return;
    this.#power = 'off';
    this.#trace('power.off');
    this.#run?.abort();
    this.#run = undefined;
  }

  /** The machine's own power off (installer's poweroff). */
  #halt(why: string): void {
    this.#trace('halt', { why });
    this.powerOff();
  }

  /** Resolves when the current run has stopped (after power off). */
  idle(): Promise<void> {
    return this.#running;
  }

  async #dhcp(kind: DhcpClientKind, signal: AbortSignal): Promise<Lease | undefined> {
    const lease = await this.#env.dhcp.dora(
      this.mac,
      kind,
      signal,
      kind === 'udhcpc' ? this.#disk?.hostname : undefined,
    );
    if (lease !== undefined) {
      this.ips.add(lease.ip);
      await this.#env.claimAddress(lease.ip);
      this.#trace(`dhcp.${kind}`, { ip: lease.ip, file: lease.file });
    } else if (!signal.aborted) {
      this.#trace(`dhcp.${kind}.timeout`);
    }
    return lease;
  }

  async #boot(signal: AbortSignal): Promise<void> {
    for (let boot = 1; boot <= this.#env.maxBootsPerPowerOn && !signal.aborted; boot++) {
      try {
        const again = await this.#networkBoot(signal, boot);
        if (!again) return;
        await sleep(this.#env.rebootPostMs, signal);
      } catch (e) {
        if (isAborted(signal)) return;
        if (e instanceof InstallerFailure) return this.#halt(e.message);
        this.#trace('boot.error', { error: e instanceof Error ? e.message : String(e) });
        // iPXE's script: `echo network boot failed, rebooting in 10 s; sleep 10; reboot`.
        await sleep(this.#env.ipxeRebootDelayMs, signal).catch(() => undefined);
      }
    }
    if (!signal.aborted) this.#trace('halt', { why: 'no bootable device' });
  }

  /** One boot from power-on/reset; true when the machine reboots into another one. */
  async #networkBoot(signal: AbortSignal, boot: number): Promise<boolean> {
    this.#trace('boot', { boot });
    const pxe = await this.#dhcp('pxe-bios', signal);
    if (pxe === undefined) throw new Error('PXE-E51: no DHCP offers were received');
    const nbp = await tftpRead({
      server: pxe.siaddr,
      filename: pxe.file,
      localAddress: pxe.ip,
      signal,
    });
    this.#trace('tftp.nbp', { file: pxe.file, bytes: nbp.bytes });
    const ipxe = await this.#dhcp('ipxe', signal);
    if (ipxe === undefined) throw new Error('iPXE: no configuration methods succeeded');
    const script = await httpRequest({
      url: ipxe.file,
      localAddress: ipxe.ip,
      keepText: true,
      signal,
    });
    if (script.status !== 200) throw new Error(`iPXE script: HTTP ${script.status}`);
    this.#trace('http.config', { bytes: script.bytes });
    const plan = parseIpxeScript(script.text);
    if (plan === undefined) throw new Error('iPXE: not an executable script');
    if (plan.kind === 'local') {
      if (this.#disk === undefined) {
        this.#trace('halt', { why: 'local boot without an installed disk' });
        return false;
      }
      await this.#runInstalledOs(this.#disk, signal);
      return false;
    }
    for (const [what, url] of [
      ['kernel', plan.kernelUrl],
      ['initrd', plan.initrdUrl],
    ] as const) {
      const got = await httpRequest({ url, localAddress: ipxe.ip, signal });
      if (got.status !== 200) throw new Error(`iPXE ${what}: HTTP ${got.status}`);
      const want = sha256OfUrl(url);
      if (want !== undefined && want !== got.sha256) throw new Error(`${what} sha256 mismatch`);
      this.#trace(`http.${what}`, { bytes: got.bytes });
    }
    const cmdline = parseIngotCmdline(plan.cmdline);
    if (cmdline === undefined) throw new Error('kernel command line without ingot.* parameters');
    // Ingot's initramfs: udhcpc, then the squashfs with busybox wget, 7 attempts over 31 s
    // (INITRAMFS_RETRY); after the last failed one it reports FAIL (retried too) and powers off.
    const lease = await this.#dhcp('udhcpc', signal);
    if (lease === undefined)
      return this.#initramfsFail(cmdline, 'boot.network', 'no DHCP lease', signal);
    if (cmdline.squashfs !== undefined) {
      const sq = await fetchSquashfs({
        url: cmdline.squashfs,
        localAddress: lease.ip,
        signal,
        onFail: (failed) => this.#traceRetry('squashfs', failed),
      });
      if (!sq.ok)
        return this.#initramfsFail(
          cmdline,
          'boot.squashfs',
          `fetching the root squashfs failed ${INITRAMFS_RETRY.retries + 1} times`,
          signal,
          sq.reason,
        );
      this.#trace('http.squashfs', { bytes: sq.value.bytes });
    }
    const installer = new Installer(
      { ...cmdline, machineId: cmdline.machine, localAddress: lease.ip, signal },
      this.#env.retries,
      (step, detail) => this.#trace(step, detail),
      this.#env.stepDelayMs,
    );
    switch (cmdline.purpose) {
      case 'install':
        this.#disk = await installer.install();
        this.#trace('reboot', { boot });
        return true;
      case 'commission':
        await installer.commission(this.mac);
        this.#halt('commissioned');
        return false;
      case 'erase':
        await installer.erase();
        this.#disk = undefined;
        this.#halt('erased');
        return false;
      case 'ephemeral':
        await this.#runInstalledOs(
          {
            metadata: cmdline.metadata,
            token: cmdline.token,
            machineId: cmdline.machine,
            hostname: cmdline.machine,
          },
          signal,
          lease,
        );
        return false;
      default:
        throw new InstallerFailure(
          'installer.config',
          `unknown ingot.purpose '${cmdline.purpose}'`,
        );
    }
  }

  /** A failed initramfs attempt, for the timeline (chaos reports). */
  #traceRetry(what: 'squashfs' | 'fail-report', failed: FailedAttempt): void {
    this.#trace('initramfs.retry', { what, ...failed });
  }

  /**
   * `die STEP MESSAGE`: the FAIL report (retried, one report id), then power off. `reason`, the
   * last attempt's error, goes to the timeline only (the real report does not carry it).
   */
  async #initramfsFail(
    cmdline: { metadata: string; token: string; machine: string },
    step: string,
    message: string,
    signal: AbortSignal,
    reason?: string,
  ): Promise<false> {
    this.#trace('initramfs.fail', { step, message, ...(reason === undefined ? {} : { reason }) });
    const posted = await postInitramfsFail(
      {
        metadata: cmdline.metadata,
        token: cmdline.token,
        machineId: cmdline.machine,
        localAddress: [...this.ips].at(-1) ?? '0.0.0.0',
        step,
        message,
      },
      { signal, onFail: (failed) => this.#traceRetry('fail-report', failed) },
    );
    // Not `event:`/`event-lost`: the fleet harness reads those as the installer's reports.
    this.#trace('initramfs.report', { step, posted });
    this.#halt(message);
    return false;
  }

  async #runInstalledOs(disk: InstalledDisk, signal: AbortSignal, lease?: Lease): Promise<void> {
    this.#trace('os.boot');
    const l = lease ?? (await this.#dhcp('udhcpc', signal));
    if (l === undefined) {
      this.#trace('os.no-lease');
      return;
    }
    await firstBoot(disk, l.ip, this.#env.osRetry, signal, (step, detail) =>
      this.#trace(step, detail),
    );
    this.#trace('os.up');
  }

  /** Forgets the installed disk (a fresh machine). */
  wipe(): void {
    this.#disk = undefined;
  }

  /** For status lines: whether an OS is installed. */
  get installed(): boolean {
    return this.#disk !== undefined;
  }
}

/** Reads `aborted` afresh (TypeScript narrows the property across awaits). */
function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}
