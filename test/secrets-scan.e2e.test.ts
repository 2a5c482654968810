/**
 * Issue 7 item 5: every secret the system handles in one run, looked for everywhere it must not
 * be. A real controller and agent (debug logs) go through users, keys, passwords and sessions, an
 * enrollment token, a machine with a BMC password, a deploy with its metadata token, the MAAS
 * API, and wrong credentials until they are locked out. Then every GET operation of the OpenAPI
 * document (as admin and as a user), the MAAS API, `/metrics`, every `/ws` message, both
 * processes' output and the controller's database files are searched for each secret in
 * plaintext. The agent's own files may hold what the agent needs (its rack secret, boot plans
 * with metadata tokens, its private key); nothing else may.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { api } from './harness/api.ts';
import { filesUnder } from './harness/files-under.ts';
import { waitFor } from './harness/processes.ts';
import {
  createReadyMachine,
  createUser,
  startSite,
  waitForStep,
  type Site,
} from './harness/scenario.ts';

const PASSWORD = 'Sign-in pass phrase 7';
const BMC_PASSWORD = 'S3cr3t-BMC-scan';
const DEBUG = ['--log-level', 'debug'];

/** The secret part of an Ingot API key (`ingot_<id>_<secret>`): the id is public. */
function keySecret(key: string): string {
  const secret = /^ingot_[a-z0-9]{12}_([A-Za-z0-9_-]{43})$/.exec(key)?.[1];
  expect(secret, `an API key: ${key.slice(0, 18)}…`).toBeDefined();
  return secret ?? '';
}

/** OAuth PLAINTEXT, as cloud-init and MAAS clients sign requests. */
function oauth(consumer: string, token: string, secret: string): string {
  return `OAuth oauth_version="1.0", oauth_signature_method="PLAINTEXT", oauth_consumer_key="${consumer}", oauth_token="${token}", oauth_signature="%26${secret}"`;
}

async function text(url: string, headers: Record<string, string> = {}): Promise<[number, string]> {
  const res = await fetch(url, { headers });
  return [res.status, await res.text()];
}

describe('secrets scan', () => {
  let site: Site | undefined;
  afterAll(async () => {
    await site?.cleanup();
  });

  it('finds no secret in any API response, /ws message, event, log line or controller database file', async () => {
    site = await startSite(DEBUG, { args: DEBUG });
    const { url, adminKey } = site.controller;
    const secrets: Record<string, string> = { 'admin key': keySecret(adminKey) };
    /** Secrets the agent needs: allowed in its own data directory, nowhere else. */
    const agentHolds = new Set<string>();

    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws?key=${adminKey}`);
    const wsMessages: string[] = [];
    ws.on('message', (data: Buffer) => wsMessages.push(data.toString('utf8')));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });

    // Users, keys (also in MAAS form), a password and a sign-in session.
    const aliceKey = await createUser(site, 'alice');
    secrets['alice key'] = keySecret(aliceKey);
    const extra = await api<{ api_key: string; maas_api_key: string }>(
      url,
      aliceKey,
      'POST',
      '/api/v1/users/me/api-keys',
      { name: 'ci' },
    );
    expect(extra.status).toBe(201);
    secrets['alice second key'] = keySecret(extra.body.api_key);
    const maasKey = extra.body.maas_api_key;
    expect(maasKey.split(':')[2]).toBe(secrets['alice second key']);
    const setPassword = await api(url, adminKey, 'PUT', '/api/v1/users/alice/password', {
      password: PASSWORD,
    });
    expect(setPassword.status).toBe(204);
    secrets.password = PASSWORD;
    const session = await api<{ api_key: string }>(url, undefined, 'POST', '/api/v1/sessions', {
      username: 'alice',
      password: PASSWORD,
    });
    expect(session.status).toBe(201);
    secrets['session key'] = keySecret(session.body.api_key);
    const signedOut = await api<{ api_key: string }>(url, undefined, 'POST', '/api/v1/sessions', {
      username: 'alice',
      password: PASSWORD,
    });
    expect(
      (await api(url, signedOut.body.api_key, 'DELETE', '/api/v1/sessions/current')).status,
    ).toBe(204);
    secrets['signed-out session key'] = keySecret(signedOut.body.api_key);

    // An enrollment token (unused) and the rack's secret (held by the agent).
    const enroll = await api<{ token: string }>(
      url,
      adminKey,
      'POST',
      '/api/v1/racks/enroll-tokens',
    );
    expect(enroll.status).toBe(201);
    const tokenSecret = /^ingot-enroll-([^.]+)/.exec(enroll.body.token)?.[1] ?? enroll.body.token;
    secrets['enrollment token'] = tokenSecret;
    const racks = await api<{ id: string }[]>(url, adminKey, 'GET', '/api/v1/racks');
    const rackId = racks.body[0]?.id ?? '';
    const agentDb = filesUnder(site.agentDir, (n) => n.startsWith('agent.db'))
      .map(([, bytes]) => bytes)
      .join('');
    // The identity row stores the rack id and then the secret, side by side.
    const rackSecret = new RegExp(`${rackId}([A-Za-z0-9_-]{43})`).exec(agentDb)?.[1];
    expect(rackSecret, 'the rack secret in agent.db').toBeDefined();
    secrets['rack secret'] = rackSecret ?? '';
    agentHolds.add('rack secret');
    // The rack's private key (mutual TLS): on the agent only, in DATA/tls/rack.key.
    const rackKeyLines = readFileSync(join(site.agentDir, 'tls', 'rack.key'), 'utf8')
      .split('\n')
      .filter((line) => /^[A-Za-z0-9+/=]{40,}$/.test(line));
    expect(rackKeyLines.length).toBeGreaterThan(0);
    secrets['rack private key'] = rackKeyLines[0] ?? '';
    agentHolds.add('rack private key');

    // A machine with a BMC password; its BMC refuses connections on loopback.
    const bmc = {
      type: 'redfish',
      params: { address: 'https://127.0.0.1:1', username: 'admin', password: BMC_PASSWORD },
    };
    const first = await createReadyMachine(site, 1, { power: bmc });
    secrets['BMC password'] = BMC_PASSWORD;
    agentHolds.add('BMC password');

    // A deploy through the MAAS API with alice's MAAS key; its metadata token, used as cloud-init would.
    const second = await createReadyMachine(site, 2);
    const [consumer = '', token = '', keyPart = ''] = maasKey.split(':');
    const maasAuth = { authorization: oauth(consumer, token, keyPart) };
    const allocated = await fetch(`${url}/MAAS/api/2.0/machines/?op=allocate`, {
      method: 'POST',
      headers: { ...maasAuth, 'content-type': 'application/x-www-form-urlencoded' },
      body: `name=${second.hostname}`,
    });
    expect(allocated.status, await allocated.clone().text()).toBe(200);
    const deploy = await fetch(`${url}/MAAS/api/2.0/machines/${second.id}/?op=deploy`, {
      method: 'POST',
      headers: { ...maasAuth, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'distro_series=bookworm',
    });
    expect(deploy.status, await deploy.clone().text()).toBe(200);
    const metadataToken = await waitFor('the boot plan with its token', async () => {
      const script = await (
        await fetch(`${site?.agent.url ?? ''}/ipxe/script?mac=52:54:00:00:00:02`)
      ).text();
      return /ingot\.token=(\S+)/.exec(script)?.[1];
    });
    const [mConsumer = '', mToken = '', mSecret = ''] = metadataToken.split(':');
    secrets['metadata token'] = mSecret;
    agentHolds.add('metadata token');
    const metadata = { authorization: oauth(mConsumer, mToken, mSecret) };
    const [metaStatus] = await text(
      `${site.agent.url}/MAAS/metadata/latest/meta-data/instance-id`,
      metadata,
    );
    expect(metaStatus).toBe(200);

    // Wrong credentials, near the real ones, until each kind is locked out (429).
    const wrong = (key: string): string => key.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    const lockouts: number[] = [];
    for (let i = 0; i < 12; i++) {
      const bearer = await api(url, wrong(aliceKey), 'GET', '/api/v1/machines');
      const maas = await text(`${url}/MAAS/api/2.0/users/?op=whoami`, {
        authorization: oauth(consumer, token, wrong(keyPart)),
      });
      const meta = await text(`${site.agent.url}/MAAS/metadata/latest/meta-data/instance-id`, {
        authorization: oauth(mConsumer, mToken, wrong(mSecret)),
      });
      lockouts.push(bearer.status, maas[0], meta[0]);
    }
    expect(lockouts.slice(-3)).toEqual([429, 429, 429]);
    const signIn = await api(url, undefined, 'POST', '/api/v1/sessions', {
      username: 'alice',
      password: `${PASSWORD}!`,
    });
    expect(signIn.status).toBe(401);

    await waitForStep(site, adminKey, first.id, 'power.on', 'failed').catch(() => undefined);

    // Everything readable: every GET of the OpenAPI document, as admin and as alice.
    const scanned: Record<string, string> = {};
    const doc = (await (await fetch(`${url}/api/v1/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const images = await api<{ id: string; files: { sha256: string }[] }[]>(
      url,
      adminKey,
      'GET',
      '/api/v1/images',
    );
    const subnets = await api<{ id: string }[]>(url, adminKey, 'GET', '/api/v1/subnets');
    const fill: Record<string, string> = {
      '/api/v1/machines/{id}': second.id,
      '/api/v1/racks/{id}': rackId,
      '/api/v1/subnets/{id}': subnets.body[0]?.id ?? 'none',
      '/api/v1/images/{id}': images.body[0]?.id ?? 'none',
      '/api/v1/images/files/{sha256}': images.body[0]?.files[0]?.sha256 ?? 'none',
    };
    const gets = Object.entries(doc.paths)
      .filter(([, methods]) => 'get' in methods)
      .map(([path]) => path);
    expect(gets.length).toBeGreaterThan(12);
    for (const template of gets) {
      const prefix = Object.keys(fill).find((p) => template.startsWith(p));
      const path =
        prefix === undefined ? template : template.replace(/\{[^}]+\}/, fill[prefix] ?? '');
      expect(path, `no value for the parameters of GET ${template}`).not.toMatch(/\{/);
      for (const [who, key] of [
        ['admin', adminKey],
        ['alice', aliceKey],
      ] as const) {
        const query = path.endsWith('/events') ? '?limit=10000' : '';
        const [status, body] = await text(`${url}${path}${query}`, {
          authorization: `Bearer ${key}`,
        });
        expect(status, `GET ${path} as ${who}`).toBeLessThan(500);
        scanned[`GET ${path} as ${who}`] = body;
      }
    }
    for (const path of [
      '/MAAS/api/2.0/machines/',
      '/MAAS/api/2.0/users/?op=whoami',
      '/MAAS/api/2.0/version/',
    ]) {
      scanned[`MAAS GET ${path}`] = (await text(`${url}${path}`, maasAuth))[1];
    }
    scanned['controller /metrics'] = (await text(`${url}/metrics`))[1];
    scanned['agent /metrics'] = (await text(`${site.agent.url}/metrics`))[1];
    const events = scanned['GET /api/v1/events as admin'] ?? '';
    expect(events).toContain('auth.lockout');
    expect(events).toContain('session.delete');

    ws.close();
    await site.agent.stop();
    await site.controller.stop();
    expect(wsMessages.length).toBeGreaterThan(10);
    scanned['/ws'] = wsMessages.join('\n');
    scanned['controller output'] = site.controller.output();
    scanned['agent output'] = site.agent.output();
    expect(scanned['controller output']).toContain('authentication lockout');
    const controllerDb = filesUnder(site.controllerDir, (n) => n.startsWith('ingot.db'));
    expect(controllerDb.length).toBeGreaterThan(0);
    for (const [path, bytes] of controllerDb) scanned[path] = bytes;
    const agentFiles = filesUnder(site.agentDir);
    expect(agentFiles.length).toBeGreaterThan(0);

    const leaks: string[] = [];
    for (const [name, secret] of Object.entries(secrets)) {
      expect(secret.length, name).toBeGreaterThanOrEqual(15);
      for (const [where, body] of Object.entries(scanned)) {
        if (body.includes(secret)) leaks.push(`${name} in ${where}`);
      }
      if (agentHolds.has(name)) continue;
      for (const [where, body] of agentFiles)
        if (body.includes(secret)) leaks.push(`${name} in ${where}`);
    }
    // Private keys (the rack CA's, rack certificates'): sealed or on the agent only.
    for (const [where, body] of Object.entries(scanned)) {
      if (/PRIVATE KEY-----/.test(body)) leaks.push(`a PEM private key in ${where}`);
    }
    expect(leaks).toEqual([]);
  });
});
