/**
 * A real client of the metadata service: Debian's stock cloud-init (its MAAS datasource and its
 * webhook reporter, unpacked from the Debian package) against a controller and an agent running
 * as processes, through the agent's /MAAS/metadata proxy, with the token the agent puts on the
 * machine's kernel command line. SSH keys are added with the `ingot keys` CLI.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, type EventJson } from './harness/api.ts';
import { runCloudInit } from './harness/cloud-init.ts';
import { tempDir, waitFor } from './harness/processes.ts';
import {
  createReadyMachine,
  createUser,
  machineEvents,
  startSite,
  waitForStatus,
  type Site,
} from './harness/scenario.ts';

const ROOT = resolve(import.meta.dirname, '..');
const KEYS = join(ROOT, 'packages/controller/src/domain/testdata/ssh-keys');
const keyFile = (name: string): string => join(KEYS, name);
const keyLine = (name: string): string => readFileSync(keyFile(name), 'utf8').trim();
const MAC = '52:54:00:00:00:01';
const USER_DATA = '#cloud-config\nruncmd:\n  - [sh, -c, "echo deployed by ingot > /etc/motd"]\n';

/** Runs `ingot …` as a process with `input` on stdin. */
async function ingot(
  args: string[],
  env: Record<string, string>,
  input = '',
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'packages/cli/src/main.ts'), ...args],
    { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(input);
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** cloud-init's seed read, or the error it raised. */
async function seed(
  url: string,
  token: string,
): Promise<{ user_data: string; meta_data: Record<string, string> } | Error> {
  try {
    return JSON.parse(await runCloudInit(['seed', url, token])) as {
      user_data: string;
      meta_data: Record<string, string>;
    };
  } catch (e) {
    return e as Error;
  }
}

describe('cloud-init (Debian, stock) against the metadata service through the agent', () => {
  let site: Site;
  let aliceKey: string;
  let machineId: string;
  let token: string;
  let metadataUrl: string;
  const logDir = tempDir('cloud-init-log');

  beforeAll(async () => {
    site = await startSite();
    aliceKey = await createUser(site, 'alice');
    metadataUrl = `${site.agent.url}/MAAS/metadata/`;
  });
  afterAll(async () => {
    await site.cleanup();
    logDir.cleanup();
  });

  it('ingot keys adds (file and stdin), lists and removes the user’s SSH keys', async () => {
    const env = { INGOT_URL: site.controller.url, INGOT_API_KEY: aliceKey };
    const added = await ingot(['keys', 'add', keyFile('ed25519.pub')], env);
    expect(added.stderr).toBe('');
    expect(added.stdout).toContain('Added SHA256:FtpvILgy5tEvbxFTfWM7/9zTMmhGo5xj9fMMEy36dfE');
    expect((await ingot(['keys', 'add', '-'], env, `${keyLine('rsa.pub')}\n`)).code).toBe(0);
    const extra = await ingot(['--json', 'keys', 'add', keyFile('ecdsa256.pub')], env);
    const extraId = (JSON.parse(extra.stdout) as { id: string }).id;
    const bad = await ingot(['keys', 'add', '-'], env, 'ssh-ed25519 AAAAnotakey\n');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/400.*base64/);
    expect((await ingot(['keys', 'remove', extraId], env)).stdout).toBe(`Removed ${extraId}\n`);
    const table = await ingot(['keys', 'list'], env);
    expect(table.stdout).toMatch(/^ID +FINGERPRINT +TYPE +COMMENT\n/);
    expect(table.stdout).toContain('ssh-ed25519  alice@laptop');
    const list = JSON.parse((await ingot(['keys', 'list', '--json'], env)).stdout) as {
      key: string;
    }[];
    expect(list.map((k) => k.key)).toEqual([keyLine('ed25519.pub'), keyLine('rsa.pub')]);
  });

  it('the agent puts a MAAS-form token on the kernel command line of the deploy', async () => {
    const m = await createReadyMachine(site, 1);
    machineId = m.id;
    const { url } = site.controller;
    expect(
      (await api(url, aliceKey, 'POST', '/api/v1/machines/allocate', { name: m.hostname })).status,
    ).toBe(200);
    const deploy = await api(url, aliceKey, 'POST', `/api/v1/machines/${m.id}/deploy`, {
      os: 'debian',
      release: 'bookworm',
      user_data: USER_DATA,
    });
    expect(deploy.status).toBe(202);
    // What the machine's iPXE fetches from the agent.
    const script = await waitFor('the boot plan to reach the agent', async () => {
      const res = await fetch(`${site.agent.url}/ipxe/script?mac=${MAC}`);
      const text = await res.text();
      return text.includes('ingot.token=') ? text : undefined;
    });
    const found = /ingot\.token=([A-Za-z0-9]{24}:[A-Za-z0-9]{24}:[A-Za-z0-9]{24}) /.exec(script);
    expect(found, script).not.toBeNull();
    token = found?.[1] ?? '';
    expect(script).toMatch(/ingot\.metadata=http:\/\/\S+\/MAAS\/metadata\//);
  });

  it('refuses cloud-init with a wrongly signed token', async () => {
    const [ck, tk] = token.split(':');
    const result = await seed(metadataUrl, `${ck ?? ''}:${tk ?? ''}:${'x'.repeat(24)}`);
    expect(result).toBeInstanceOf(Error);
    expect(result instanceof Error ? result.message : '').toMatch(/401|Unauthorized/);
  });

  it('read_maas_seed_url returns instance-id, hostname, keys and user data; the machine is deployed', async () => {
    const result = await seed(metadataUrl, token);
    if (result instanceof Error) throw result;
    expect(result.meta_data).toEqual({
      'instance-id': machineId,
      'local-hostname': 'node-1',
      'public-keys': `${keyLine('ed25519.pub')}\n${keyLine('rsa.pub')}\n`,
    });
    expect(result.user_data).toBe(USER_DATA);
    const machine = await waitForStatus(site, aliceKey, machineId, 'deployed');
    expect(machine.status_message).toBe('Deployed');
  });

  it("cloud-init's webhook reporter posts events that land on the machine's timeline", async () => {
    const log = join(logDir.path, 'cloud-init-output.log');
    writeFileSync(
      log,
      `Cloud-init v. 22.4.2 running 'modules:final'\nkernel: ingot.token=${token}\nall done\n`,
    );
    await runCloudInit(['report', `${metadataUrl}status/${machineId}`, token, log]);
    const step = 'modules-final/config-scripts-user';
    const events = await waitFor('the reported events', async () => {
      const all = (await machineEvents(site, aliceKey, machineId)).filter((e) => e.step === step);
      return all.length === 2 ? all : undefined;
    });
    expect(events).toMatchObject([
      { kind: 'step', result: 'started', message: 'running config-scripts-user' },
      { kind: 'step', result: 'info', message: 'ran config-scripts-user' },
    ]);
    const data = (events[1] as EventJson & { data: Record<string, unknown> }).data;
    expect(data).toMatchObject({ origin: 'cloudinit', event_type: 'finish', files: [log] });
    expect(data.log_tail).toContain('all done');
    expect(data.log_tail).toContain('ingot.token=<redacted>');
    expect(JSON.stringify(events)).not.toContain(token.split(':')[2]);
  });

  it('once the machine is released the token is refused', async () => {
    const released = await api(
      site.controller.url,
      aliceKey,
      'POST',
      `/api/v1/machines/${machineId}/release`,
      {},
    );
    expect(released.status).toBe(200);
    const result = await seed(metadataUrl, token);
    expect(result).toBeInstanceOf(Error);
    expect(result instanceof Error ? result.message : '').toMatch(/401|Unauthorized/);
  });
});
