import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createJsonLogger, silentLogger, type Logger } from '@ingot/common';
import type { BootPlan as ProtoBootPlan, Command } from '@ingot/proto/rack/v1';
import { AgentStartError, startAgent, type AgentDeps, type AgentHandle } from './agent.ts';
import { defaultAgentConfig, type AgentConfig } from './config.ts';
import { createManualPowerDriver } from './power/drivers/manual.ts';
import { FakeController } from './testing/fake-controller.ts';
import { FakePowerDriver } from './testing/fake-power-driver.ts';
import { waitUntil } from './testing/wait-until.ts';

const TOKEN = 'enroll-me';

const bootPlanCommand = (id: string, over: Partial<ProtoBootPlan> = {}): Command => ({
  id,
  kind: {
    $case: 'bootPlan',
    value: {
      machineId: 'm1',
      macs: ['52:54:00:aa:bb:01'],
      purpose: 'install',
      os: 'debian',
      release: 'bookworm',
      arch: 'amd64',
      kernelParams: '',
      files: [],
      hostname: 'node1',
      metadataToken: 'tok',
      version: 1,
      ...over,
    },
  },
});

const powerCommand = (id: string, driver: string, action = 'on'): Command => ({
  id,
  kind: {
    $case: 'power',
    value: {
      machineId: 'm1',
      action,
      driver,
      paramsJson: driver === 'fake' ? '{"address":"10.0.0.9","password":"bmc-pass-123"}' : '{}',
      pxeOnce: true,
      uefi: false,
    },
  },
});

describe('rack agent against a fake controller', () => {
  let root: string;
  let controller: FakeController;
  let agents: AgentHandle[];
  let driver: FakePowerDriver;

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'rack-agent-'));
    controller = new FakeController({ enrollmentTokens: [TOKEN] });
    await controller.start();
    agents = [];
    driver = new FakePowerDriver();
  });
  afterEach(async () => {
    await Promise.all(agents.map((agent) => agent.close()));
    await controller.stop();
    rmSync(root, { recursive: true, force: true });
  });

  const config = (over: Partial<AgentConfig> = {}): AgentConfig => ({
    ...defaultAgentConfig({
      controllers: [controller.address],
      dataDir: join(root, 'data'),
      enrollmentToken: TOKEN,
      http: { host: '127.0.0.1', port: 0 },
      reconnect: { initialMs: 10, maxMs: 50 },
      // The fake controller serves plaintext.
      insecureGrpc: true,
      hostname: 'test-rack',
    }),
    ...over,
  });
  const start = async (over: Partial<AgentConfig> = {}, deps: AgentDeps = {}) => {
    const agent = await startAgent(config(over), {
      logger: silentLogger,
      powerDrivers: [createManualPowerDriver(), driver],
      setPowerOptions: { sleep: () => Promise.resolve() },
      ...deps,
    });
    agents.push(agent);
    return agent;
  };
  const connected = (agent: AgentHandle) =>
    waitUntil(() => agent.session().connected, { what: 'session established' });
  const acked = (commandId: string, times = 1) =>
    controller.waitFor(
      () => controller.commandAcks.filter((id) => id === commandId).length >= times,
      {
        what: `ack of ${commandId} x${times}`,
      },
    );

  it('enrolls once and reuses the identity on the next start', async () => {
    const first = await start();
    await connected(first);
    expect(controller.registerCalls).toHaveLength(1);
    expect(controller.registerCalls[0]).toMatchObject({
      enrollmentToken: TOKEN,
      hostname: 'test-rack',
    });
    const rackId = first.rackId();
    expect(rackId).toBe('rack-1');
    await first.close();

    // The token is spent: a second Register would fail, so success proves it was not called.
    const second = await start();
    await connected(second);
    expect(second.rackId()).toBe(rackId);
    expect(controller.registerCalls).toHaveLength(1);
    expect(controller.sessions.map((s) => s.rackId)).toEqual([rackId, rackId]);
  });

  it('fails with a typed error without a token or with a refused one', async () => {
    await expect(start({ enrollmentToken: undefined })).rejects.toMatchObject({ kind: 'no-token' });
    const refused = start({ enrollmentToken: 'wrong' });
    await expect(refused).rejects.toBeInstanceOf(AgentStartError);
    await expect(refused).rejects.toMatchObject({ kind: 'token-refused' });
  });

  it('fails over to the next controller address, for Register and Session', async () => {
    const agent = await start({ controllers: ['127.0.0.1:1', controller.address] });
    await connected(agent);
    expect(agent.session().controller).toBe(controller.address);
  });

  it('delivers events recorded while disconnected, in order, once the controller is back', async () => {
    const agent = await start();
    await connected(agent);
    await controller.stop();
    await waitUntil(() => !agent.session().connected, { what: 'session lost' });

    const ids = Array.from(
      { length: 1201 },
      (_, i) =>
        agent.events.recordStatus({
          machineId: 'm1',
          step: 'boot.kernel',
          result: 'info',
          message: `${i}`,
        }).id,
    );
    expect(agent.store.outboxDepth()).toBe(1201);

    await controller.start();
    await controller.waitFor(() => ids.every((id) => controller.events.has(id)), {
      what: 'all events',
    });
    expect(controller.eventLog.map((event) => event.id)).toEqual(ids);
    const batchSizes = controller.sessions
      .flatMap((s) => s.requests)
      .flatMap((r) => (r.kind?.$case === 'events' ? [r.kind.value.events.length] : []));
    expect(Math.max(...batchSizes)).toBeLessThanOrEqual(500);
    await waitUntil(() => agent.store.outboxDepth() === 0, { what: 'outbox drained' });
  });

  it('resends unacked events after a reconnect, but not acked ones', async () => {
    controller.autoAck = false;
    const agent = await start();
    await connected(agent);
    const a = agent.events.recordStatus({
      machineId: 'm1',
      step: 'dhcp.ack',
      result: 'succeeded',
      message: 'a',
    });
    const b = agent.events.recordStatus({
      machineId: 'm1',
      step: 'boot.nbp',
      result: 'started',
      message: 'b',
    });
    await controller.waitFor(() => controller.events.has(b.id), { what: 'b' });

    const session = controller.openSessions()[0];
    session?.send({ kind: { $case: 'eventAck', value: { eventIds: [a.id] } } });
    await waitUntil(() => agent.store.outboxDepth() === 1, { what: 'a deleted' });
    // A second append in the same session must not resend the unacked b.
    const c = agent.events.recordStatus({
      machineId: 'm1',
      step: 'boot.config',
      result: 'info',
      message: 'c',
    });
    await controller.waitFor(() => controller.events.has(c.id), { what: 'c' });
    expect(controller.eventLog.map((e) => e.id)).toEqual([a.id, b.id, c.id]);

    session?.fail(GrpcStatus.UNAVAILABLE, 'controller restarting');
    await controller.waitFor(() => controller.eventLog.length >= 5, { what: 'resend' });
    expect(controller.eventLog.map((e) => e.id)).toEqual([a.id, b.id, c.id, b.id, c.id]);
    expect(controller.sessions).toHaveLength(2);
  });

  it('applies a state command once and acks duplicates', async () => {
    const agent = await start();
    await connected(agent);
    await controller.sendCommand(bootPlanCommand('b1'));
    await acked('b1');
    expect(agent.store.bootPlan('m1')).toMatchObject({
      hostname: 'node1',
      macs: ['52:54:00:aa:bb:01'],
    });
    await controller.sendCommand({
      id: 'r1',
      kind: { $case: 'removeBootPlan', value: { machineId: 'm1' } },
    });
    await acked('r1');
    await controller.sendCommand(bootPlanCommand('b1'));
    await acked('b1', 2);
    expect(agent.store.bootPlan('m1')).toBeUndefined();
  });

  it('keeps the newer boot plan and replaces the network config', async () => {
    const agent = await start();
    await connected(agent);
    await controller.sendCommand(bootPlanCommand('b2', { version: 5, hostname: 'new' }));
    await controller.sendCommand(bootPlanCommand('b1', { version: 4, hostname: 'old' }));
    const subnet = {
      cidr: '10.0.0.0/24',
      gateway: '10.0.0.1',
      dnsServers: [],
      dynamicRanges: [{ start: '10.0.0.100', end: '10.0.0.200' }],
      leaseSeconds: 600,
      domain: 'lab',
      dhcpMode: 'managed',
      interface: 'eth1',
    };
    await controller.sendCommand({
      id: 'n1',
      kind: { $case: 'networkConfig', value: { version: 7, subnets: [subnet], reservations: [] } },
    });
    await acked('n1');
    expect(agent.store.bootPlan('m1')?.hostname).toBe('new');
    expect(agent.store.networkConfig()).toMatchObject({
      version: 7,
      subnets: [{ dhcpMode: 'managed' }],
    });

    // The next Hello reports the config version held.
    controller.openSessions()[0]?.fail(GrpcStatus.UNAVAILABLE);
    await controller.waitFor(() => controller.hellos.length >= 2, { what: 'second hello' });
    expect(controller.hellos[1]?.networkConfigVersion).toBe(7);
  });

  it('runs a power command once: PowerResult, ack and power events; a resend gets the stored result', async () => {
    const agent = await start();
    await connected(agent);
    await controller.sendCommand(bootPlanCommand('b1'));
    await acked('b1');
    await controller.sendCommand(powerCommand('p1', 'fake'));
    await acked('p1');
    await controller.sendCommand(powerCommand('p1', 'fake'));
    await acked('p1', 2);

    expect(driver.callsOf('on')).toHaveLength(1);
    expect(driver.callsOf('set-boot-device')).toHaveLength(1);
    expect(controller.powerResults).toHaveLength(2);
    expect(controller.powerResults[0]).toMatchObject({
      commandId: 'p1',
      machineId: 'm1',
      ok: true,
      powerState: 'on',
      errorKind: '',
    });
    expect(controller.powerResults[1]).toEqual(controller.powerResults[0]);

    const steps = await controller.waitFor(() => {
      const power = [...controller.events.values()].filter((e) => e.step === 'power.on');
      return power.length === 2 ? power : undefined;
    });
    expect(steps.map((e) => e.result)).toEqual(['started', 'succeeded']);
    expect(JSON.stringify([...controller.events.values()])).not.toContain('bmc-pass-123');
  });

  it('asks the operator for manual power and reports a failed fake power', async () => {
    const agent = await start();
    await connected(agent);
    await controller.sendCommand(bootPlanCommand('b1'));
    await controller.sendCommand(powerCommand('p1', 'manual'));
    await acked('p1');
    expect(controller.powerResults[0]).toMatchObject({ ok: true, powerState: 'unknown' });
    const succeeded = await controller.waitFor(() =>
      [...controller.events.values()].find(
        (e) => e.step === 'power.on' && e.result === 'succeeded',
      ),
    );
    expect(succeeded.message).toBe(
      'Manual power driver: an operator must power on node1 now (PXE boot once)',
    );

    driver.failNext({ kind: 'auth', message: 'bad password bmc-pass-123' });
    await controller.sendCommand(powerCommand('p2', 'fake', 'off'));
    await acked('p2');
    expect(controller.powerResults[1]).toMatchObject({
      ok: false,
      errorKind: 'auth',
      powerState: 'unknown',
    });
    expect(controller.powerResults[1]?.message).not.toContain('bmc-pass-123');
    await controller.waitFor(() =>
      [...controller.events.values()].some((e) => e.step === 'power.off' && e.result === 'failed'),
    );
  });

  it('acks an invalid power command with a settings error and leaves unknown kinds unacked', async () => {
    const agent = await start();
    await connected(agent);
    await controller.sendCommand({ id: 'u1', kind: undefined });
    await controller.sendCommand(powerCommand('p1', 'fake', 'explode'));
    await acked('p1');
    expect(controller.powerResults[0]).toMatchObject({
      commandId: 'p1',
      ok: false,
      errorKind: 'settings',
    });
    expect(controller.commandAcks).not.toContain('u1');
  });

  it('sends heartbeats at the Welcome interval', async () => {
    controller.heartbeatIntervalMs = 20;
    const agent = await start();
    await connected(agent);
    agent.events.recordStatus({
      machineId: 'm1',
      step: 'boot.kernel',
      result: 'info',
      message: '',
    });
    await controller.waitFor(() => controller.heartbeats.length >= 3, { what: 'three heartbeats' });
    expect(controller.heartbeats[0]).toMatchObject({
      services: { http: 'ok' },
      bootPlans: 0,
    });
    expect(controller.heartbeats.at(-1)?.rssBytes).toBeGreaterThan(0);
    expect(controller.heartbeats.at(-1)?.sentAtMs).toBeGreaterThan(0);
  });

  it('keeps retrying when the controller refuses its credentials, and logs it', async () => {
    const lines: string[] = [];
    const logger: Logger = createJsonLogger((line) => lines.push(line), 'info');
    const agent = await start({}, { logger });
    await connected(agent);
    controller.racks.clear();
    controller.openSessions()[0]?.fail(GrpcStatus.UNAVAILABLE);
    await controller.waitFor(() => controller.sessions.length >= 4, { what: 'repeated retries' });
    expect(lines.some((line) => line.includes('refused this rack'))).toBe(true);
    expect(agent.session().connected).toBe(false);
  });

  it('accepts machine events over real HTTP and delivers them', async () => {
    const agent = await start();
    await connected(agent);
    await controller.sendCommand(bootPlanCommand('b1'));
    await acked('b1');
    const url = `http://127.0.0.1:${agent.httpAddress.port}/api/v1/machine-events`;
    const post = (body: unknown) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    const accepted = await post({
      mac: '52:54:00:AA:BB:01',
      step: 'boot.kernel',
      result: 'started',
    });
    expect(accepted.status).toBe(202);
    const { id } = (await accepted.json()) as { id: string };
    const delivered = await controller.waitFor(() => controller.events.get(id), {
      what: 'machine event',
    });
    expect(delivered).toMatchObject({
      machineId: 'm1',
      mac: '52:54:00:aa:bb:01',
      step: 'boot.kernel',
    });

    const bad = await post({ mac: '52:54:00:aa:bb:01', step: 'boot.kernel', result: 'nope' });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toBe('application/problem+json');
    expect(
      (await post({ machine_id: 'm404', step: 'boot.kernel', result: 'started' })).status,
    ).toBe(404);
    expect((await fetch(`http://127.0.0.1:${agent.httpAddress.port}/healthz`)).status).toBe(200);
  });
});
