/**
 * Issue 4 item 3: a BMC password given to the controller reaches the rack agent's power driver
 * and nowhere else: not an API response, a `/ws` message, a log line, an event, nor the bytes
 * of either side's database files.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { createJsonLogger } from '@ingot/common';
import { defaultAgentConfig, startAgent } from '@ingot/rack-agent';
import { FakePowerDriver } from '@ingot/rack-agent/testing';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { api } from './harness/api.ts';
import { filesUnder } from './harness/files-under.ts';
import { freePort, startControllerProc, tempDir, waitFor } from './harness/processes.ts';
import {
  createReadyMachine,
  createUser,
  registerImage,
  startSite,
  waitForStep,
  type Site,
} from './harness/scenario.ts';

const PASSWORD = 'S3cr3t-BMC-pass';
// A BMC on a closed loopback port: the driver fails at once with a connection error, and no
// packet leaves this machine (network rule: tests talk only to loopback and their own netns).
const POWER = {
  type: 'redfish',
  params: { address: 'https://127.0.0.1:1', username: 'admin', password: PASSWORD },
};

/** Opens `/ws` and keeps every raw message. */
async function rawEventStream(
  url: string,
  key: string,
): Promise<{ messages: string[]; close(): void }> {
  const ws = new WebSocket(new URL('/ws', url.replace(/^http/, 'ws')), {
    headers: { authorization: `Bearer ${key}` },
  });
  const messages: string[] = [];
  ws.on('message', (data: Buffer) => messages.push(data.toString('utf8')));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { messages, close: () => ws.close() };
}

/** Fetches a path and returns the body text, for scanning. */
async function fetchText(url: string, key: string, path: string): Promise<string> {
  const res = await fetch(new URL(path, url), { headers: { authorization: `Bearer ${key}` } });
  expect(res.status, path).toBe(200);
  return res.text();
}

/** The metadata token the agent puts on the machine's kernel command line (its iPXE script). */
async function metadataToken(agentUrl: string, mac: string): Promise<string> {
  return waitFor('the boot plan with its token', async () => {
    const script = await (await fetch(`${agentUrl}/ipxe/script?mac=${mac}`)).text();
    return /ingot\.token=(\S+)/.exec(script)?.[1];
  });
}

/** OAuth PLAINTEXT, as cloud-init signs metadata requests. */
function oauthHeader(token: string): string {
  const [consumer = '', key = '', secret = ''] = token.split(':');
  return `OAuth oauth_version="1.0", oauth_signature_method="PLAINTEXT", oauth_consumer_key="${consumer}", oauth_token="${key}", oauth_signature="%26${secret}"`;
}

/** Asserts no scanned text holds the password, naming where it was found. */
function expectNoPassword(scanned: Record<string, string>): void {
  const leaks = Object.entries(scanned)
    .filter(([, text]) => text.includes(PASSWORD))
    .map(([where]) => where);
  expect(leaks).toEqual([]);
}

describe('BMC passwords', () => {
  let site: Site | undefined;
  afterAll(async () => {
    await site?.cleanup();
  });

  it('appear in no API response, /ws message, log, event or database file', async () => {
    site = await startSite();
    const { url, adminKey } = site.controller;
    const userKey = await createUser(site, 'alice');
    const ws = await rawEventStream(url, adminKey);
    const scanned: Record<string, string> = {};
    let token = '';
    try {
      const machine = await createReadyMachine(site, 1, { power: POWER });
      scanned['POST /machines'] = JSON.stringify(machine);
      const patched = await api(url, adminKey, 'PATCH', `/api/v1/machines/${machine.id}`, {
        power: POWER,
      });
      expect(patched.status).toBe(200);
      scanned['PATCH /machines/id'] = JSON.stringify(patched.body);
      const allocated = await api(url, userKey, 'POST', '/api/v1/machines/allocate', {
        name: machine.hostname,
      });
      expect(allocated.status).toBe(200);
      const deploying = await api(url, userKey, 'POST', `/api/v1/machines/${machine.id}/deploy`, {
        os: 'debian',
        release: 'bookworm',
      });
      expect(deploying.status).toBe(202);
      scanned['POST deploy'] = JSON.stringify(deploying.body);
      // The BMC refuses connections, so power.on fails after the command was delivered.
      await waitForStep(site, userKey, machine.id, 'power.on', 'failed');
      const power = await api(url, userKey, 'POST', `/api/v1/machines/${machine.id}/power`, {
        action: 'cycle',
      });
      scanned['POST power'] = JSON.stringify(power.body);
      await waitForStep(site, userKey, machine.id, 'power.cycle', 'failed');

      // The deploy's metadata token, as the machine gets it (kernel command line from the agent),
      // used the way its installer would, echoing itself into a description and a log.
      // (A second machine with manual power: the first one's failing BMC failed its deploy.)
      const second = await createReadyMachine(site, 2);
      for (const [path, body] of [
        ['/api/v1/machines/allocate', { name: second.hostname }],
        [`/api/v1/machines/${second.id}/deploy`, { os: 'debian', release: 'bookworm' }],
      ] as const) {
        expect((await api(url, userKey, 'POST', path, body)).status).toBeLessThan(300);
      }
      token = await metadataToken(site.agent.url, '52:54:00:00:00:02');
      const reported = await fetch(`${site.agent.url}/MAAS/metadata/status/${second.id}`, {
        method: 'POST',
        headers: { authorization: oauthHeader(token) },
        body: JSON.stringify({
          event_type: 'finish',
          origin: 'ingot-installer',
          name: 'install.storage',
          description: `cmdline ingot.token=${token}`,
          result: 'WARN',
          files: [
            {
              path: 'installer.log',
              encoding: 'base64',
              content: Buffer.from(
                `token ${token}\nsecret ${token.split(':')[2] ?? ''}\n`,
              ).toString('base64'),
            },
          ],
        }),
      });
      expect(reported.status).toBe(204);
      await waitForStep(site, userKey, second.id, 'install.storage', 'info');

      for (const path of [
        '/api/v1/machines',
        `/api/v1/machines/${machine.id}`,
        `/api/v1/machines/${machine.id}/power`,
        `/api/v1/machines/${machine.id}/events?limit=10000`,
        '/api/v1/events?limit=10000',
        '/api/v1/racks',
        '/api/v1/openapi.json',
      ]) {
        scanned[`GET ${path}`] = await fetchText(url, adminKey, path);
      }
      expect(scanned['GET /api/v1/events?limit=10000']).toContain('Updated power');
    } finally {
      ws.close();
    }
    expect(ws.messages.length).toBeGreaterThan(3);
    scanned['/ws'] = ws.messages.join('\n');
    scanned['controller output'] = site.controller.output();
    scanned['agent output'] = site.agent.output();
    const dbFiles = filesUnder(site.controllerDir, (n) => n.startsWith('ingot.db'));
    expect(dbFiles.length).toBeGreaterThan(0);
    for (const [path, bytes] of dbFiles) scanned[path] = bytes;
    for (const [path, bytes] of filesUnder(site.agentDir)) scanned[path] = bytes;
    // The key file exists with mode 0600.
    expect(statSync(join(site.controllerDir, 'secrets.key')).mode & 0o777).toBe(0o600);
    expectNoPassword(scanned);
    // The metadata token is a secret too: the rack has it (and so both command stores), but no
    // response, event, /ws message or log line shows it, not even its secret part.
    const secretPart = token.split(':')[2] ?? '';
    expect(secretPart).toMatch(/^[A-Za-z0-9]{24}$/);
    const leaks = Object.entries(scanned)
      .filter(([where]) => !where.startsWith('/'))
      .filter(([, text]) => text.includes(secretPart))
      .map(([where]) => where);
    expect(leaks).toEqual([]);
    expect(scanned['GET /api/v1/events?limit=10000']).toContain('ingot.token=<redacted>');
  });

  it('reach the power driver on the rack, which keeps them off its disk and logs', async () => {
    const cdir = tempDir('controller');
    const adir = tempDir('agent');
    const controller = await startControllerProc({ dataDir: cdir.path });
    const logs: string[] = [];
    const ipmi = new FakePowerDriver({ type: 'ipmi' });
    let agent: Awaited<ReturnType<typeof startAgent>> | undefined;
    try {
      await registerImage(controller.url, controller.adminKey);
      const token = await api<{ token: string }>(
        controller.url,
        controller.adminKey,
        'POST',
        '/api/v1/racks/enroll-tokens',
      );
      agent = await startAgent(
        defaultAgentConfig({
          controllers: [controller.grpc],
          enrollmentToken: token.body.token,
          dataDir: adir.path,
          http: { host: '127.0.0.1', port: await freePort() },
          logLevel: 'debug',
        }),
        {
          powerDrivers: [ipmi],
          logger: createJsonLogger((line) => logs.push(line), 'debug', { service: 'rack-agent' }),
          setPowerOptions: { verify: { attempts: 1, intervalMs: 1 } },
        },
      );
      const r = await api<{ id: string }>(
        controller.url,
        controller.adminKey,
        'POST',
        '/api/v1/machines',
        {
          hostname: 'node-1',
          arch: 'amd64',
          macs: ['52:54:00:00:00:01'],
          commission: false,
          // The in-process agent's fake driver is registered as `ipmi`: no packet is sent.
          power: {
            type: 'ipmi',
            params: { address: '10.0.0.9', username: 'admin', password: PASSWORD },
          },
        },
      );
      expect(r.status).toBe(201);
      await waitFor('the rack to connect', async () => {
        const racks = await api<{ status: string }[]>(
          controller.url,
          controller.adminKey,
          'GET',
          '/api/v1/racks',
        );
        return racks.body[0]?.status === 'healthy' ? true : undefined;
      });
      const power = await api(
        controller.url,
        controller.adminKey,
        'POST',
        `/api/v1/machines/${r.body.id}/power`,
        {
          action: 'on',
        },
      );
      expect(power.status, JSON.stringify(power.body)).toBe(202);
      await waitFor('the driver to be called', () =>
        Promise.resolve(ipmi.calls.some((c) => c.action === 'on') ? true : undefined),
      );
      // The real password, opened by the controller for this rack only.
      // (The fake driver's parser keeps address and password.)
      expect(ipmi.calls.find((c) => c.action === 'on')?.params).toEqual({
        address: '10.0.0.9',
        password: PASSWORD,
      });
      await agent.close();
      agent = undefined;
      const scanned: Record<string, string> = {
        'agent logs': logs.join(''),
        'controller output': controller.output(),
      };
      for (const [path, bytes] of filesUnder(adir.path)) scanned[path] = bytes;
      for (const [path, bytes] of filesUnder(cdir.path, (n) => n.startsWith('ingot.db'))) {
        scanned[path] = bytes;
      }
      expectNoPassword(scanned);
    } finally {
      await agent?.close();
      await controller.stop();
      cdir.cleanup();
      adir.cleanup();
    }
  });
});
