import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from './harness/api.ts';
import { freePort } from './harness/processes.ts';
import {
  createReadyMachine,
  createUser,
  machineEvents,
  standInSha256,
  startSite,
  waitForStep,
  type Site,
} from './harness/scenario.ts';

const run = promisify(execFile);

/** Fetches a URL with curl (a TFTP and HTTP client no one here wrote); returns the bytes. */
async function curl(url: string): Promise<{ code: number; body: Buffer }> {
  try {
    const r = await run('curl', ['--silent', '--fail', '--max-time', '20', url], {
      encoding: 'buffer',
    });
    return { code: 0, body: r.stdout };
  } catch (e) {
    const f = e as { code: number; stdout: Buffer };
    return { code: f.code, body: f.stdout };
  }
}

describe('TFTP and HTTP boot through the agent process', () => {
  let site: Site;
  let key: string;
  let tftp: string;
  let machine: { id: string; mac: string };

  beforeAll(async () => {
    tftp = `127.0.0.1:${await freePort()}`;
    site = await startSite([], { tftp });
    key = await createUser(site, 'erin');
    const m = await createReadyMachine(site, 7);
    machine = { id: m.id, mac: '52:54:00:00:00:07' };
    await api(site.controller.url, key, 'POST', '/api/v1/machines/allocate', { name: m.hostname });
    await api(site.controller.url, key, 'POST', `/api/v1/machines/${m.id}/deploy`, {});
    await waitForStep(site, key, m.id, 'power.on');
  });
  afterAll(async () => {
    await site.cleanup();
  });

  it('serves the stock iPXE loader from Debian byte-identical over TFTP', async () => {
    const r = await curl(`tftp://${tftp}/undionly.kpxe`);
    expect(r.code).toBe(0);
    const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
    expect(sha(r.body)).toBe(sha(readFileSync('/usr/lib/ipxe/undionly.kpxe')));
  });

  it('renders the machine iPXE script over TFTP and HTTP, and the controller sees boot.config', async () => {
    const overTftp = await curl(`tftp://${tftp}/ipxe/${machine.mac}`);
    expect(overTftp.code).toBe(0);
    expect(overTftp.body.toString()).toMatch(/^#!ipxe\n/);
    const overHttp = await curl(`${site.agent.url}/ipxe/script?mac=${machine.mac}`);
    expect(overHttp.code).toBe(0);
    // Both render the machine's install plan; they differ only in how the agent is addressed.
    for (const script of [overTftp.body.toString(), overHttp.body.toString()]) {
      expect(script).toMatch(/^# Ingot: install debian bookworm amd64/m);
      // An install boots Ingot's ephemeral environment, which then writes the image.
      const kernel = standInSha256('ephemeral-vmlinuz');
      const initrd = standInSha256('ephemeral-initrd.img');
      expect(script).toMatch(
        new RegExp(`^kernel http://\\S+/images/${kernel}\\?mac=${machine.mac} `, 'm'),
      );
      expect(script).toMatch(new RegExp(`^initrd --name initrd http://\\S+/images/${initrd}`, 'm'));
    }

    await waitForStep(site, key, machine.id, 'boot.config');
    const configs = (await machineEvents(site, key, machine.id)).filter(
      (e) => e.step === 'boot.config',
    );
    expect(configs.map((e) => e.message)).toEqual([
      expect.stringContaining('(tftp)'),
      expect.stringContaining('(http)'),
    ]);
  });

  it('refuses paths outside the served roots and unknown files', async () => {
    expect((await curl(`tftp://${tftp}/../../etc/passwd`)).code).not.toBe(0);
    expect((await curl(`${site.agent.url}/..%2f..%2fetc/passwd`)).code).not.toBe(0);
    expect((await curl(`tftp://${tftp}/nosuchfile`)).code).not.toBe(0);
    // Still serving afterwards.
    expect((await curl(`tftp://${tftp}/undionly.kpxe`)).code).toBe(0);
  });
});
