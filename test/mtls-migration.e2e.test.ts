/**
 * Upgrading a plaintext installation to mutual TLS (issue 7): a rack enrolled while the
 * controller served plaintext has an identity but no certificate. Once the controller serves TLS,
 * the agent refuses to start until it is given one new token; with it, the agent registers with
 * its existing rack id and secret, gets a certificate and keeps its rack id.
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  startAgentProc,
  startControllerProc,
  tempDir,
  type AgentProc,
  type ControllerProc,
} from './harness/processes.ts';
import { startEnrolledAgent, waitForHealthyRacks } from './harness/scenario.ts';

describe('an agent enrolled before mutual TLS', () => {
  const cdir = tempDir('migrate-controller');
  const adir = tempDir('migrate-agent');
  const procs: (ControllerProc | AgentProc)[] = [];

  afterAll(async () => {
    for (const p of procs.reverse()) await p.stop();
    cdir.cleanup();
    adir.cleanup();
  });

  it('needs one new token, then keeps its rack id over mutual TLS', async () => {
    const plain = await startControllerProc({ dataDir: cdir.path, args: ['--insecure-grpc'] });
    procs.push(plain);
    const oldAgent = await startEnrolledAgent(plain, adir.path, { args: ['--insecure-grpc'] });
    procs.push(oldAgent);
    // A plaintext controller's tokens carry no pin.
    expect(oldAgent.enrollToken).not.toContain('.');
    const [before] = await waitForHealthyRacks(plain);
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

    const agent = await startEnrolledAgent(tls, adir.path);
    procs.push(agent);
    const after = await waitForHealthyRacks(tls);
    expect(after.map((r) => r.id)).toEqual([before?.id]);
    const metrics = await (await fetch(`${agent.url}/metrics`)).text();
    expect(metrics).toContain(`ingot_controller_session_info{controller="${tls.grpc}"} 1`);
  });
});
