/**
 * Upgrading a plaintext installation to mutual TLS (issue 7): a rack enrolled while the
 * controller served plaintext has an identity but no certificate. Once the controller serves TLS,
 * the agent refuses to start until it is given one new token; with it, the agent registers with
 * its existing rack id and secret, gets a certificate and keeps its rack id.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { api } from './harness/api.ts';
import {
  startAgentProc,
  startControllerProc,
  tempDir,
  waitFor,
  type AgentProc,
  type ControllerProc,
} from './harness/processes.ts';

interface RackJson {
  id: string;
  status: string;
}

describe('an agent enrolled before mutual TLS', () => {
  const cdir = tempDir('migrate-controller');
  const adir = tempDir('migrate-agent');
  const procs: (ControllerProc | AgentProc)[] = [];

  afterAll(async () => {
    for (const p of procs.reverse()) await p.stop();
    cdir.cleanup();
    adir.cleanup();
  });

  const token = async (c: ControllerProc): Promise<string> =>
    (await api<{ token: string }>(c.url, c.adminKey, 'POST', '/api/v1/racks/enroll-tokens')).body
      .token;
  const healthy = (c: ControllerProc): Promise<RackJson[]> =>
    waitFor('the rack to be healthy', async () => {
      const racks = (await api<RackJson[]>(c.url, c.adminKey, 'GET', '/api/v1/racks')).body;
      return racks.length > 0 && racks.every((r) => r.status === 'healthy') ? racks : undefined;
    });

  it('needs one new token, then keeps its rack id over mutual TLS', async () => {
    const plain = await startControllerProc({ dataDir: cdir.path, args: ['--insecure-grpc'] });
    procs.push(plain);
    const plainToken = await token(plain);
    // A plaintext controller's tokens carry no pin.
    expect(plainToken).not.toContain('.');
    const oldAgent = await startAgentProc({
      controller: plain.grpc,
      dataDir: adir.path,
      enrollToken: plainToken,
      args: ['--insecure-grpc'],
    });
    procs.push(oldAgent);
    const [before] = await healthy(plain);
    await oldAgent.stop();
    await plain.stop();

    // The same controller, upgraded: mutual TLS (the default), same ports and data.
    const [httpPort, grpcPort] = [plain.url, plain.grpc].map((a) => Number(a.split(':').at(-1)));
    const tls = await startControllerProc({ dataDir: cdir.path, httpPort, grpcPort });
    procs.push(tls);
    const refused = await startAgentProc({ controller: tls.grpc, dataDir: adir.path }).then(
      () => 'started',
      (e: unknown) => String(e),
    );
    expect(refused).toMatch(/enrolled before controllers required mutual TLS/);

    const agent = await startAgentProc({
      controller: tls.grpc,
      dataDir: adir.path,
      enrollToken: await token(tls),
    });
    procs.push(agent);
    const after = await healthy(tls);
    expect(after.map((r) => r.id)).toEqual([before?.id]);
    const metrics = await (await fetch(`${agent.url}/metrics`)).text();
    expect(metrics).toContain(`ingot_controller_session_info{controller="${tls.grpc}"} 1`);
  });
});
