/**
 * Mutual TLS between racks and controllers (issue 7): the controller's CA issues each rack a
 * certificate at enrollment, Session requires it, and a revoked rack is refused and cut off.
 * A real controller and agent run as processes; the refused clients are real grpc-js clients
 * (`harness/rack-grpc.ts`) presenting exactly the credentials each case needs.
 */
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { credentials, status as Status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from './harness/api.ts';
import {
  startAgentProc,
  startControllerProc,
  tempDir,
  waitFor,
  type ControllerProc,
} from './harness/processes.ts';
import { openSession, registerRack, tlsAs, type EnrolledRack } from './harness/rack-grpc.ts';
import { startSite, type Site } from './harness/scenario.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');

async function newToken(controller: ControllerProc): Promise<string> {
  const r = await api<{ token: string }>(
    controller.url,
    controller.adminKey,
    'POST',
    '/api/v1/racks/enroll-tokens',
  );
  expect(r.status).toBe(201);
  return r.body.token;
}

interface RackJson {
  id: string;
  status: string;
  revoked_at: string | null;
}

describe('mutual TLS between racks and controllers', () => {
  let site: Site;
  let other: ControllerProc;
  const otherDir = tempDir('controller-other');
  let rack: EnrolledRack;

  beforeAll(async () => {
    site = await startSite();
    // A second, unrelated controller: its own CA.
    other = await startControllerProc({ dataDir: otherDir.path });
    rack = await registerRack(site.controller.grpc, await newToken(site.controller));
  }, 120_000);

  afterAll(async () => {
    await site.cleanup();
    await other.stop();
    otherDir.cleanup();
  });

  it('hands out tokens that pin the CA, and the rack certificate names the rack', async () => {
    const token = await newToken(site.controller);
    expect(token).toMatch(/^ingot-enroll-[A-Za-z0-9_-]+\.sha256:[0-9a-f]{64}$/);
    expect(rack.certPem).toContain('BEGIN CERTIFICATE');
    const { X509Certificate } = await import('node:crypto');
    expect(new X509Certificate(rack.certPem).subject).toBe(`CN=${rack.rackId}`);
  });

  it('welcomes a session with the rack certificate and refuses every other credential', async () => {
    const good = await openSession(site.controller.grpc, tlsAs(rack), rack);
    expect(good.welcomed).toBe(true);
    if (good.welcomed) good.close();

    // TLS but no client certificate: the right id and secret are not enough.
    const noCert = await openSession(
      site.controller.grpc,
      credentials.createSsl(Buffer.from(rack.caPem)),
      rack,
    );
    expect(noCert).toMatchObject({ welcomed: false, code: Status.UNAUTHENTICATED });
    if (!noCert.welcomed) expect(noCert.details).toMatch(/client certificate/);

    // A certificate from another controller's CA, for a rack enrolled there.
    const stranger = await registerRack(other.grpc, await newToken(other));
    expect(stranger.caPem).not.toBe(rack.caPem);
    for (const who of [rack, stranger]) {
      const foreign = await openSession(site.controller.grpc, tlsAs(stranger, rack.caPem), who);
      expect(foreign).toMatchObject({ welcomed: false, code: Status.UNAUTHENTICATED });
    }

    // A valid certificate of another rack with this rack's id and secret.
    const second = await registerRack(site.controller.grpc, await newToken(site.controller));
    const swapped = await openSession(site.controller.grpc, tlsAs(second), rack);
    expect(swapped).toMatchObject({ welcomed: false, code: Status.UNAUTHENTICATED });
    if (!swapped.welcomed) expect(swapped.details).toContain(second.rackId);

    // Plaintext to the TLS port never gets a session.
    const plain = await openSession(site.controller.grpc, credentials.createInsecure(), rack, 5000);
    expect(plain.welcomed).toBe(false);
  });

  it('refuses to enroll an agent whose token pins another CA, without spending the token', async () => {
    const token = await newToken(site.controller);
    const otherPin = (await newToken(other)).split('.')[1];
    const forged = `${token.split('.')[0] ?? ''}.${otherPin ?? ''}`;
    const dir = tempDir('agent-forged');
    try {
      const refused = await startAgentProc({
        controller: site.controller.grpc,
        dataDir: dir.path,
        enrollToken: forged,
      }).then(
        () => 'started',
        (e: unknown) => String(e),
      );
      expect(refused).toMatch(/not the controller that made the token/);
      // The secret never reached the controller: with the right pin it still enrolls.
      const enrolled = await registerRack(site.controller.grpc, token);
      expect(enrolled.rackId).not.toBe('');
    } finally {
      dir.cleanup();
    }
  });

  it('cuts off a revoked rack: its open session closes and it is refused afterwards', async () => {
    const { controller } = site;
    const racks = async (): Promise<RackJson[]> =>
      (await api<RackJson[]>(controller.url, controller.adminKey, 'GET', '/api/v1/racks')).body;
    const agentRack = (await racks()).find((r) => r.id !== rack.rackId && r.status === 'healthy');
    if (agentRack === undefined) throw new Error('the agent process is not connected');

    // Only admins revoke.
    const user = await api<{ api_key: string }>(
      controller.url,
      controller.adminKey,
      'POST',
      '/api/v1/users',
      {
        username: 'mtls-user',
        role: 'user',
      },
    );
    const forbidden = await api(
      controller.url,
      user.body.api_key,
      'POST',
      `/api/v1/racks/${rack.rackId}/revoke`,
    );
    expect(forbidden.status).toBe(403);

    const held = await openSession(controller.grpc, tlsAs(rack), rack);
    if (!held.welcomed) throw new Error(`no session: ${held.details}`);
    const revoked = await api<RackJson>(
      controller.url,
      controller.adminKey,
      'POST',
      `/api/v1/racks/${rack.rackId}/revoke`,
    );
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked_at).not.toBeNull();
    const end = await held.ended;
    expect(end).toMatchObject({ code: Status.UNAUTHENTICATED });
    expect(end.details).toMatch(/revoked/);
    const again = await openSession(controller.grpc, tlsAs(rack), rack);
    expect(again).toMatchObject({ welcomed: false, code: Status.UNAUTHENTICATED });

    // The real agent process: revoked, it loses its session and does not get another.
    const metrics = async (): Promise<string> => (await fetch(`${site.agent.url}/metrics`)).text();
    expect(await metrics()).toMatch(/^ingot_controller_session_up 1$/m);
    // This one through the CLI, as an operator would.
    const cli = await run(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'packages/cli/src/main.ts'), 'racks', 'revoke', agentRack.id],
      {
        cwd: ROOT,
        env: { ...process.env, INGOT_URL: controller.url, INGOT_API_KEY: controller.adminKey },
      },
    );
    expect(cli.stdout).toContain(`(${agentRack.id})`);
    await waitFor('the agent to lose its session', async () =>
      /^ingot_controller_session_up 0$/m.test(await metrics()) ? true : undefined,
    );
    await waitFor('the rack to show disconnected', async () =>
      (await racks()).find((r) => r.id === agentRack.id)?.status === 'disconnected'
        ? true
        : undefined,
    );
    // It keeps trying (at the longest backoff) and keeps being refused.
    await waitFor('the agent to be refused again', () =>
      Promise.resolve(
        /refused this rack's credentials/.test(site.agent.output()) ? true : undefined,
      ),
    );
    expect(await metrics()).toMatch(/^ingot_controller_session_up 0$/m);
    const audit = await api<{ step: string; rack_id: string | null }[]>(
      controller.url,
      controller.adminKey,
      'GET',
      '/api/v1/events?limit=10000',
    );
    const revokes = audit.body.filter((e) => e.step === 'rack.revoke').map((e) => e.rack_id);
    expect(revokes).toEqual([rack.rackId, agentRack.id]);
  });
});
