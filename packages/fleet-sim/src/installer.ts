/**
 * The installer's side of a simulated machine: the same metadata requests, with the same token,
 * in the same order, with the same bodies as Ingot's installer (packages/images/installer) and
 * the tiny image's init (packages/images/tiny/init), but nothing is written: the root image is
 * fetched, checksummed against the install config's sha256 and dropped.
 */
import { randomUUID } from 'node:crypto';
import {
  curlRetry,
  fetchRetrying,
  httpRequest,
  sleep,
  type HttpResult,
  type RetryPolicy,
} from './http-client.ts';
import { oauthHeader } from './boot-script.ts';

/** What the machine needs to talk to the metadata service. */
export interface MetadataSession {
  /** `…/MAAS/metadata/` through the agent. */
  readonly metadata: string;
  readonly token: string;
  readonly machineId: string;
  /** Agent base URL: install-config paths are relative to it. */
  readonly agent: string;
  readonly localAddress: string;
  readonly signal: AbortSignal;
}

/** Retry knobs (defaults are the real scripts'). */
export interface InstallerRetries {
  /** `fetch_metadata`/`post_metadata`/image download: `curl --retry 5` (waits 1, 2, 4, 8, 16 s). */
  readonly fetch: RetryPolicy;
  /** `post_event`: `curl --retry 4` (waits 1, 2, 4, 8 s). */
  readonly event: RetryPolicy;
}

/**
 * The real installer's retries (packages/images/installer/lib/report.sh and install.sh): no
 * `--retry-delay`, so curl's own doubling backoff from 1 s — 31 s in all for fetches and posts,
 * 15 s for events, which outlasts a rack agent's restart.
 */
export const REAL_INSTALLER_RETRIES: InstallerRetries = {
  fetch: curlRetry(5),
  event: curlRetry(4),
};

/** Observes what the installer does (the fleet's timeline). */
export type InstallerTrace = (step: string, detail?: Record<string, unknown>) => void;

/** What an install left on the (imaginary) disk: what its OS will use to reach metadata. */
export interface InstalledDisk {
  readonly metadata: string;
  readonly token: string;
  readonly machineId: string;
  readonly hostname: string;
}

/** An install config (deploy-contract.md "Install config"), the fields read here. */
interface InstallConfig {
  hostname?: string;
  machine_id?: string;
  image?: {
    os?: string;
    release?: string;
    arch?: string;
    root_image?: { path?: string; sha256?: string; size_bytes?: number; format?: string } | null;
  } | null;
  cloud_init?: { metadata_url?: string; token?: string };
}

/** The installer's failure: the step, and what the FAIL event said. */
export class InstallerFailure extends Error {
  constructor(
    readonly step: string,
    message: string,
  ) {
    super(`${step} failed: ${message}`);
  }
}

/** Talks to the metadata service as the installer does. */
export class Installer {
  readonly #s: MetadataSession;
  readonly #retries: InstallerRetries;
  readonly #trace: InstallerTrace;
  readonly #stepDelayMs: number;
  readonly #log: string[] = [];

  constructor(
    session: MetadataSession,
    retries: InstallerRetries,
    trace: InstallerTrace,
    stepDelayMs = 0,
  ) {
    this.#s = session;
    this.#retries = retries;
    this.#trace = trace;
    this.#stepDelayMs = stepDelayMs;
  }

  #auth(): Record<string, string> {
    const header = oauthHeader(this.#s.token, randomUUID(), Date.now() / 1000);
    if (header === undefined)
      throw new InstallerFailure('installer.config', 'malformed ingot.token');
    return { authorization: header };
  }

  #say(line: string): void {
    this.#log.push(`[${(performance.now() / 1000).toFixed(2)}] ingot-installer: ${line}`);
    if (this.#log.length > 200) this.#log.shift();
  }

  /** `fetch_metadata PATH`. */
  async get(path: string, keepText = true): Promise<HttpResult> {
    return fetchRetrying({
      url: `${this.#s.metadata}${path}`,
      localAddress: this.#s.localAddress,
      headers: () => this.#auth(),
      keepText,
      retry: this.#retries.fetch,
      signal: this.#s.signal,
      onRetry: (why) => this.#trace('retry', { what: `GET ${path}`, why }),
    });
  }

  /** `post_metadata PATH FILE`. */
  async post(path: string, body: unknown): Promise<void> {
    await fetchRetrying({
      url: `${this.#s.metadata}${path}`,
      method: 'POST',
      localAddress: this.#s.localAddress,
      headers: () => ({ ...this.#auth(), 'content-type': 'application/json' }),
      body: JSON.stringify(body),
      retry: this.#retries.fetch,
      signal: this.#s.signal,
      onRetry: (why) => this.#trace('retry', { what: `POST ${path}`, why }),
    });
  }

  /**
   * `post_event TYPE NAME RESULT DESCRIPTION [DONE TOTAL]`: never fails the caller, as the real
   * one (reporting must not turn a good install into a failed one), except on abort.
   */
  async event(
    type: 'start' | 'finish',
    name: string,
    result: '' | 'SUCCESS' | 'FAIL' | 'WARN',
    description: string,
    progress?: { done: number; total: number },
    origin = 'ingot-installer',
  ): Promise<void> {
    // A fresh report id per event, the same on every retry of it (as the real post_event): the
    // controller stores a resent report once (deploy-contract.md "Report ids").
    const id = randomUUID();
    const body: Record<string, unknown> = {
      id,
      event_type: type,
      origin,
      name,
      description,
      timestamp: Math.round(Date.now()) / 1000,
    };
    if (result !== '') body['result'] = result;
    if (progress !== undefined) body['progress'] = progress;
    if (result === 'FAIL') {
      const tail = Buffer.from(this.#log.join('\n').slice(-8192)).toString('base64');
      body['files'] = [{ path: 'installer.log', encoding: 'base64', content: tail }];
    }
    try {
      await fetchRetrying({
        url: `${this.#s.metadata}status/${this.#s.machineId}`,
        method: 'POST',
        localAddress: this.#s.localAddress,
        headers: () => ({ ...this.#auth(), 'content-type': 'application/json' }),
        body: JSON.stringify(body),
        retry: this.#retries.event,
        signal: this.#s.signal,
        onRetry: (why) => this.#trace('retry', { what: `POST status ${name}`, why }),
      });
      this.#trace(`event:${name}:${result === '' ? 'start' : result}`, { id });
    } catch (e) {
      if (this.#s.signal.aborted) throw e;
      this.#say(`could not post ${type} ${name} ${result} to the metadata service`);
      this.#trace('event-lost', { name, type, result, id });
    }
  }

  /** `run_step NAME DESCRIPTION FUNCTION`: start, body, finish (or FAIL and throw). */
  async step(
    name: string,
    description: string,
    body: () => Promise<string | undefined>,
  ): Promise<void> {
    this.#say(`step ${name}: ${description}`);
    await this.event('start', name, '', description);
    let note: string;
    try {
      if (this.#stepDelayMs > 0) await sleep(this.#stepDelayMs, this.#s.signal);
      note = (await body()) ?? description;
    } catch (e) {
      if (this.#s.signal.aborted) throw e;
      const message =
        e instanceof InstallerFailure
          ? e.message.replace(/^.*? failed: /, '')
          : e instanceof Error
            ? e.message
            : String(e);
      this.#say(`step ${name} FAILED: ${message}`);
      await this.event('finish', name, 'FAIL', `${name} failed: ${message}`);
      throw new InstallerFailure(name, message);
    }
    await this.event('finish', name, 'SUCCESS', note);
    this.#say(`step ${name} done: ${note}`);
  }

  /** `purpose=install`; returns what the disk now holds. */
  async install(): Promise<InstalledDisk> {
    let config: InstallConfig = {};
    await this.step('installer.config', 'fetching the install config', async () => {
      config = JSON.parse((await this.get('latest/install-config')).text) as InstallConfig;
      return `install config for ${config.hostname ?? config.machine_id ?? '?'}: purpose install`;
    });
    const root = config.image?.root_image;
    await this.step('install.storage', 'partitioning the disk', () => {
      if (
        config.image === null ||
        config.image === undefined ||
        root === null ||
        root === undefined
      )
        throw new Error('the install config names no image');
      const rootMib = 10_240 - 68;
      return Promise.resolve(
        `GPT on /dev/sda: BIOS boot 1 MiB, ESP 64 MiB, root ${rootMib} MiB (ext4)`,
      );
    });
    await this.step('install.image', 'writing the root image', async () => {
      const path = root?.path ?? '';
      const total = root?.size_bytes ?? 0;
      const got = await fetchRetrying({
        url: `${this.#s.agent}/${path.replace(/^\//, '')}`,
        localAddress: this.#s.localAddress,
        retry: this.#retries.fetch,
        signal: this.#s.signal,
        onRetry: (why) => this.#trace('retry', { what: 'GET root image', why }),
      });
      this.#trace('image', { bytes: got.bytes, sha256: got.sha256 });
      if (got.sha256 !== root?.sha256)
        throw new Error(`root image sha256 ${got.sha256} is not ${root?.sha256 ?? '?'}`);
      await this.event('start', 'install.image', '', 'downloaded the root image', {
        done: total,
        total,
      });
      const desc = `writing ${config.image?.os ?? '?'}/${config.image?.release ?? '?'}/${config.image?.arch ?? '?'} (${root.format ?? 'squashfs'}, ${Math.floor(total / 1048576)} MiB) to /dev/sda`;
      await this.event('start', 'install.image', '', desc, { done: total * 3, total: total * 3 });
      return `${desc}: done`;
    });
    await this.step('install.bootloader', 'installing GRUB (BIOS and UEFI)', () =>
      Promise.resolve('GRUB installed for BIOS (/dev/sda) and UEFI (removable path)'),
    );
    const metadata = config.cloud_init?.metadata_url ?? this.#s.metadata;
    const token = config.cloud_init?.token ?? this.#s.token;
    const hostname = config.hostname ?? config.machine_id ?? this.#s.machineId;
    await this.step('install.cloud-init', 'seeding cloud-init', () =>
      Promise.resolve(
        `cloud-init: MAAS datasource ${metadata}, hostname ${hostname}, 0 SSH key(s)`,
      ),
    );
    await this.step('install.customise', 'applying customisation', () =>
      Promise.resolve('customisation: nothing to do'),
    );
    this.#say('step install.reboot: rebooting into the installed system');
    await this.event('start', 'install.reboot', '', 'rebooting into the installed system');
    await this.event('finish', 'install.reboot', 'SUCCESS', 'rebooting into the installed system');
    return { metadata, token, machineId: this.#s.machineId, hostname };
  }

  /** `purpose=commission`: facts after the step's finish (their POST ends the token). */
  async commission(mac: string): Promise<void> {
    await this.step('installer.config', 'fetching the install config', async () => {
      const config = JSON.parse((await this.get('latest/install-config')).text) as InstallConfig;
      return `install config for ${config.hostname ?? config.machine_id ?? '?'}: purpose commission`;
    });
    const facts = {
      cpu_count: 4,
      memory_mib: 8192,
      disks: [
        {
          name: 'sda',
          size_bytes: 10_737_418_240,
          model: 'FLEETSIM',
          serial: mac.replaceAll(':', ''),
        },
      ],
      nics: [{ name: 'eth0', mac }],
    };
    await this.step('commission', 'gathering hardware facts', () =>
      Promise.resolve('4 CPU(s), 8192 MiB, disks: sda 10240 MiB, NICs: eth0 ' + mac),
    );
    try {
      await this.post('latest/commissioning', facts);
    } catch (e) {
      if (this.#s.signal.aborted) throw e;
      await this.event(
        'finish',
        'commission',
        'FAIL',
        `commission failed: POST ${this.#s.metadata}latest/commissioning failed`,
      );
      throw new InstallerFailure('commission', 'POST commissioning failed');
    }
  }

  /** `purpose=erase`: the erase step's SUCCESS ends the release. */
  async erase(): Promise<void> {
    let mode = 'quick';
    await this.step('installer.config', 'fetching the install config', async () => {
      const config = JSON.parse((await this.get('latest/install-config')).text) as {
        erase?: string;
      };
      mode = config.erase ?? 'quick';
      return `install config: purpose erase`;
    });
    await this.step('erase', `erasing disks (${mode})`, () =>
      Promise.resolve(`erased /dev/sda (${mode})`),
    );
  }
}

/**
 * The installed OS's first boot (the tiny image's init, standing in for cloud-init): fetch
 * meta-data and user-data with the token the installer seeded; the user-data GET marks the
 * machine `deployed`. Retries as `fetch` says (the tiny init uses none; cloud-init retries).
 */
export async function firstBoot(
  disk: InstalledDisk,
  localAddress: string,
  retry: RetryPolicy,
  signal: AbortSignal,
  trace: InstallerTrace,
): Promise<void> {
  const base = disk.metadata.endsWith('/') ? disk.metadata : `${disk.metadata}/`;
  const auth = (): Record<string, string> => {
    const header = oauthHeader(disk.token, randomUUID(), Date.now() / 1000);
    return header === undefined ? {} : { authorization: header };
  };
  const post = async (type: string, result: string, description: string): Promise<void> => {
    const body = {
      event_type: type,
      origin: 'ingot-tiny',
      name: 'ingot-tiny/init',
      ...(result === '' ? {} : { result }),
      description,
      timestamp: Math.floor(Date.now() / 1000),
    };
    const r = await httpRequest({
      url: `${base}status/${disk.machineId}`,
      method: 'POST',
      localAddress,
      headers: { ...auth(), 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal,
      timeoutMs: 30_000,
    }).catch(() => undefined);
    trace(`os:post:${type}`, { status: r?.status });
  };
  await post('start', '', 'tiny init fetching meta-data and user-data');
  for (const f of ['instance-id', 'local-hostname', 'public-keys']) {
    await fetchRetrying({
      url: `${base}latest/meta-data/${f}`,
      localAddress,
      headers: auth,
      retry,
      signal,
    }).catch(() => trace('os:meta-data-failed', { key: f }));
  }
  const userData = await fetchRetrying({
    url: `${base}latest/user-data`,
    localAddress,
    headers: auth,
    retry,
    signal,
  });
  trace('os:user-data', { bytes: userData.bytes });
  await post(
    'finish',
    'SUCCESS',
    `instance ${disk.machineId} on ${disk.hostname}: user-data is not a script (${userData.bytes} bytes): not run`,
  );
}
