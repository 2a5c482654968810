/**
 * The operator's deploy story on a lab VM, step by step through the CLI (issue 5): commission
 * (hardware facts), allocate, deploy to disk with user data and the operator's SSH key, release
 * with erase, deploy in memory, and the failure paths. Each step returns what it saw; the test
 * and the `pnpm e2e:deploy` report assert and print.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { api } from './api.ts';
import type { DeploySite, EventWithData, LabMachine } from './deploy-lab.ts';
import { waitForStatus, workFile } from './deploy-lab.ts';

/** Milliseconds since power-on at which each phase was first seen (DESIGN.md §3). */
export interface Phases {
  readonly powerOn: number;
  readonly pxe?: number | undefined;
  readonly ephemeralLoaded?: number | undefined;
  readonly storage?: number | undefined;
  readonly imageWritten?: number | undefined;
  readonly reboot?: number | undefined;
  readonly cloudInit?: number | undefined;
  readonly deployed?: number | undefined;
}

/** The phase table from a machine's events after `sinceSeq` (the deploy's own events). */
export function phasesOf(events: readonly EventWithData[]): Phases {
  const at = (e: EventWithData | undefined): number | undefined =>
    e?.occurred_at === null || e === undefined ? undefined : Date.parse(e.occurred_at);
  const first = (pred: (e: EventWithData) => boolean): number | undefined => at(events.find(pred));
  const powerOn = first((e) => e.step.startsWith('power.') && e.result === 'succeeded');
  if (powerOn === undefined) throw new Error('no power event in the deploy');
  const rel = (t: number | undefined): number | undefined =>
    t === undefined ? undefined : t - powerOn;
  const finished = (step: string) => (e: EventWithData) =>
    e.step === step && e.result === 'succeeded';
  return {
    powerOn: 0,
    pxe: rel(first((e) => e.step === 'dhcp.ack')),
    ephemeralLoaded: rel(first((e) => e.step === 'boot.squashfs' || e.step === 'installer.config')),
    storage: rel(first(finished('install.storage'))),
    imageWritten: rel(first(finished('install.image'))),
    reboot: rel(first((e) => e.step === 'install.reboot')),
    cloudInit: rel(
      first((e) => /^(init-|modules-|ingot-tiny\/)/.test(e.step) || e.step.startsWith('cloudinit')),
    ),
    deployed: rel(first((e) => e.kind === 'transition' && e.to_status === 'deployed')),
  };
}

/** Events of `machineId` with a sequence number above `afterSeq`. */
export async function eventsAfter(
  site: DeploySite,
  machineId: string,
  afterSeq: number,
): Promise<EventWithData[]> {
  return (await site.events(machineId)).filter((e) => e.seq > afterSeq);
}

async function lastSeq(site: DeploySite, machineId: string): Promise<number> {
  return (await site.events(machineId)).reduce((n, e) => Math.max(n, e.seq), 0);
}

async function ok(site: DeploySite, args: string[], asAdmin = false): Promise<string> {
  const r = await site.ingot(args, asAdmin);
  if (r.code !== 0)
    throw new Error(`ingot ${args.join(' ')} exited ${String(r.code)}:\n${r.output}`);
  return r.output;
}

/** Commissions the machine as the admin; returns its facts and how long it took. */
export async function commission(
  site: DeploySite,
  m: LabMachine,
): Promise<{ seconds: number; cpuCount: number; memoryMib: number; storageGib: number }> {
  const t0 = Date.now();
  await ok(site, ['machines', 'commission', m.machineId], true);
  await waitForStatus(site, m.machineId, ['commissioning'], 30_000).catch(() => undefined);
  const ready = await waitForStatus(site, m.machineId, ['ready'], 300_000);
  return {
    seconds: (Date.now() - t0) / 1000,
    cpuCount: Number(ready['cpu_count']),
    memoryMib: Number(ready['memory_mib']),
    storageGib: Number(ready['storage_gib']),
  };
}

/** What one deploy showed. */
export interface DeployOutcome {
  readonly status: string;
  readonly phases: Phases;
  readonly events: EventWithData[];
  readonly machine: Record<string, unknown>;
  /** The machine's address from its last DHCP lease (what SSH connects to). */
  readonly ip: string | undefined;
}

/**
 * Allocates the machine by name as the operator and deploys `os/release` (`--ephemeral` for
 * memory), then waits for `deployed` or, with `expectFailure`, for `failed_deployment`.
 */
export async function deploy(
  site: DeploySite,
  m: LabMachine,
  options: {
    os: string;
    release: string;
    userData?: string;
    ephemeral?: boolean;
    extra?: string[];
    expectFailure?: boolean;
    timeoutMs?: number;
  },
): Promise<DeployOutcome> {
  const after = await lastSeq(site, m.machineId);
  await ok(site, ['machines', 'allocate', '--name', m.name]);
  const args = [
    'machines',
    'deploy',
    m.machineId,
    '--os',
    options.os,
    '--release',
    options.release,
  ];
  if (options.userData !== undefined)
    args.push('--user-data-file', workFile(site, `user-data-${after}`, options.userData));
  if (options.ephemeral === true) args.push('--ephemeral');
  args.push(...(options.extra ?? []));
  await ok(site, args);
  const timeoutMs = options.timeoutMs ?? 600_000;
  const machine =
    options.expectFailure === true
      ? await waitForFailure(site, m.machineId, timeoutMs)
      : await waitForStatus(site, m.machineId, ['deployed'], timeoutMs);
  const events = await eventsAfter(site, m.machineId, after);
  const acks = events.filter((e) => e.step === 'dhcp.ack');
  const ip = acks.at(-1)?.data['ip'];
  return {
    status: machine.status,
    phases: phasesOf(events),
    events,
    machine,
    ip: typeof ip === 'string' ? ip : undefined,
  };
}

async function waitForFailure(
  site: DeploySite,
  id: string,
  timeoutMs: number,
): Promise<Awaited<ReturnType<DeploySite['machine']>>> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; Date.now() < deadline && i < 100_000; i++) {
    const m = await site.machine(id);
    if (m.status === 'failed_deployment') return m;
    if (m.status === 'deployed') throw new Error(`${id} deployed but a failure was expected`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`${id} did not fail within ${timeoutMs} ms`);
}

/** Releases as the operator (`--erase quick|full` when given) and waits for `ready`. */
export async function release(
  site: DeploySite,
  m: LabMachine,
  erase?: 'quick' | 'full',
): Promise<{ seconds: number; events: EventWithData[] }> {
  const after = await lastSeq(site, m.machineId);
  const t0 = Date.now();
  await ok(site, ['machines', 'release', m.machineId, ...(erase ? ['--erase', erase] : [])]);
  await waitForStatus(site, m.machineId, ['ready'], 300_000);
  return { seconds: (Date.now() - t0) / 1000, events: await eventsAfter(site, m.machineId, after) };
}

/** Aborts a failed deployment's leftovers: release without erase (operators do this). */
export async function releaseFailed(site: DeploySite, m: LabMachine): Promise<void> {
  await ok(site, ['machines', 'release', m.machineId]);
  await waitForStatus(site, m.machineId, ['ready'], 120_000);
}

/** What the VM's disk holds at its start and end: a GPT header, and any non-zero byte. */
export function diskSignature(path: string): {
  gpt: boolean;
  firstMiBZero: boolean;
  bytes: number;
} {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(1 << 20);
    readSync(fd, head, 0, head.length, 0);
    return {
      gpt: head.subarray(512, 520).toString('latin1') === 'EFI PART',
      firstMiBZero: head.every((b) => b === 0),
      bytes: statSync(path).size,
    };
  } finally {
    closeSync(fd);
  }
}

/** Formats phases as a table row: seconds since power-on, `-` for a phase not seen. */
export function phaseRow(label: string, p: Phases): string {
  const s = (ms: number | undefined): string => (ms === undefined ? '-' : (ms / 1000).toFixed(1));
  return [
    label.padEnd(22),
    s(p.powerOn).padStart(8),
    s(p.pxe).padStart(6),
    s(p.ephemeralLoaded).padStart(10),
    s(p.storage).padStart(8),
    s(p.imageWritten).padStart(7),
    s(p.reboot).padStart(7),
    s(p.cloudInit).padStart(11),
    s(p.deployed).padStart(9),
  ].join(' ');
}

/** The header of {@link phaseRow}. */
export const PHASE_HEADER = [
  'deploy'.padEnd(22),
  'power-on'.padStart(8),
  'PXE'.padStart(6),
  'ephemeral'.padStart(10),
  'storage'.padStart(8),
  'image'.padStart(7),
  'reboot'.padStart(7),
  'cloud-init'.padStart(11),
  'deployed'.padStart(9),
].join(' ');

/**
 * Imports a copy of `os/release` as `os/<release>-corrupt` whose root image differs by one
 * appended block, then flips a byte of that file in the controller's image store — bit rot the
 * controller cannot see, and the agent's sha256 check must catch.
 */
export async function importCorruptedCopy(
  site: DeploySite,
  os: string,
  release: string,
): Promise<string> {
  const source = site.imageDirs.get(`${os}/${release}`);
  if (source === undefined) throw new Error(`no built image ${os}/${release}`);
  const dir = join(site.workDir, `${release}-corrupt`);
  mkdirSync(dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(source, 'manifest.json'), 'utf8')) as {
    release: string;
    name: string;
    files: { name: string; role: string; sha256: string; size_bytes: number }[];
  };
  let rootSha = '';
  for (const f of manifest.files) {
    let bytes = readFileSync(join(source, f.name));
    if (f.role === 'root-image') {
      bytes = Buffer.concat([bytes, Buffer.alloc(4096, 1)]);
      f.sha256 = createHash('sha256').update(bytes).digest('hex');
      f.size_bytes = bytes.length;
      rootSha = f.sha256;
    }
    writeFileSync(join(dir, f.name), bytes);
  }
  manifest.release = `${release}-corrupt`;
  manifest.name = `${os}/${manifest.release}/amd64`;
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  await ok(site, ['images', 'import', dir], true);
  const stored = join(site.controllerDataDir, 'images', rootSha);
  const fd = openSync(stored, 'r+');
  try {
    writeSync(fd, Buffer.from([0x42]), 0, 1, 1000);
  } finally {
    closeSync(fd);
  }
  return manifest.release;
}

/**
 * A blank machine joins as an operator's would: powered on at its BMC (`ipmitool`), it
 * PXE-boots, the rack agent sees an unknown MAC and the controller enlists it as `new`; powered
 * off again, it gets its name and BMC settings through the API. Returns it with its new machine id.
 */
export async function enlistByPxe(site: DeploySite, m: LabMachine): Promise<LabMachine> {
  const params = m.powerParams;
  if (params === undefined || m.power !== 'ipmi')
    throw new Error(`${m.name}: no IPMI BMC settings`);
  const param = (key: string, fallback?: string): string => {
    const v = params[key] ?? fallback;
    if (typeof v !== 'string' && typeof v !== 'number') throw new Error(`BMC setting ${key}?`);
    return String(v);
  };
  const chassis = (action: 'on' | 'off'): void => {
    execFileSync(
      'ipmitool',
      [
        ...['-I', 'lanplus', '-H', param('address'), '-p', param('port')],
        ...['-U', param('username'), '-E', '-C', param('cipherSuite', '3')],
        ...['chassis', 'power', action],
      ],
      { env: { ...process.env, IPMI_PASSWORD: param('password') }, timeout: 30_000 },
    );
  };
  chassis('on');
  const deadline = Date.now() + 180_000;
  let found: { id: string; status: string } | undefined;
  for (let i = 0; found === undefined && Date.now() < deadline && i < 1000; i++) {
    const all =
      await site.get<{ id: string; status: string; macs: string[] }[]>('/api/v1/machines');
    found = all.find((x) => x.macs.includes(m.mac));
    if (found === undefined) await new Promise((r) => setTimeout(r, 1000));
  }
  if (found === undefined) throw new Error(`${m.mac} was not enlisted within 180 s`);
  site.log(`${m.name} enlisted by PXE as ${found.id} (${found.status})`);
  chassis('off');
  const patched = await api(
    site.controller.url,
    site.controller.adminKey,
    'PATCH',
    `/api/v1/machines/${found.id}`,
    { hostname: m.name, power: { type: 'ipmi', params } },
  );
  if (patched.status !== 200) throw new Error(`PATCH power: ${JSON.stringify(patched.body)}`);
  return { ...m, machineId: found.id };
}
