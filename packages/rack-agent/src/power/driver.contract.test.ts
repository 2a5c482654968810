import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe } from 'vitest';
// The lab's virtual BMC lives with the lab (test/); @ingot/e2e is not a rack-agent dependency.
import { ipmiSimAvailable, startIpmiSim } from '@ingot/lab/bmc/ipmi-sim.ts';
import { FakePowerDriver } from '../testing/fake-power-driver.ts';
import { describePowerDriverContract, type PowerChange } from './driver.contract.ts';
import { createIpmiPowerDriver } from './drivers/ipmi.ts';
import { createManualPowerDriver } from './drivers/manual.ts';
import { createRedfishPowerDriver } from './drivers/redfish.ts';
import { createWebhookPowerDriver } from './drivers/webhook.ts';
import { FakeMachine } from '@ingot/lab/redfish/machine.ts';
import { startRedfishService } from '@ingot/lab/redfish/service.ts';

describePowerDriverContract('manual', () =>
  Promise.resolve({ driver: createManualPowerDriver(), rawParams: {}, observable: false }),
);

describePowerDriverContract('FakePowerDriver', () => {
  const fake = new FakePowerDriver();
  const changes: Record<string, PowerChange | undefined> = { on: 'on', off: 'off', cycle: 'reset' };
  return Promise.resolve({
    driver: fake,
    rawParams: { address: '10.0.0.9', password: 'fake-secret' },
    invalidParams: [{}, { address: '' }, { address: '10.0.0.9', password: 7 }],
    observable: true,
    powerChanges: () => fake.calls.flatMap((call) => changes[call.action] ?? []),
    nextBootDevice: () => fake.callsOf('set-boot-device').at(-1)?.device ?? 'default',
    failure: {
      rawParams: { address: '10.0.0.9', password: 'fake-secret' },
      kind: 'auth',
      beforeEachCall: () => fake.failNext({ kind: 'auth', message: 'fake: bad credentials' }),
    },
  });
});

// Without the tools a developer's run skips these; CI (CI=true) runs them and fails loudly.
describe.skipIf(!ipmiSimAvailable() && process.env.CI === undefined)('ipmi_sim', () => {
  describePowerDriverContract('ipmi (ipmi_sim)', async () => {
    const sim = await startIpmiSim();
    const valid = {
      address: sim.host,
      port: sim.port,
      username: sim.username,
      password: sim.password,
    };
    return {
      driver: createIpmiPowerDriver({
        timeoutMs: 15_000,
        session: { timeoutSeconds: 1, retries: 1 },
      }),
      rawParams: valid,
      invalidParams: [
        {},
        { ...valid, address: '' },
        { ...valid, address: '-oSomething' },
        { ...valid, port: 70_000 },
        { ...valid, password: 'x'.repeat(21) },
        { ...valid, username: 42 },
        { ...valid, cipherSuite: 18 },
        { ...valid, privilege: 'root' },
      ],
      observable: true,
      powerChanges: () =>
        sim.chassisCalls().flatMap((call): PowerChange[] => {
          if (call.op !== 'set') return [];
          if (call.args[0] === 'reset') return ['reset'];
          if (call.args[0] === 'power') return [call.args[1] === '1' ? 'on' : 'off'];
          return [];
        }),
      nextBootDevice: () => sim.bootDevice(),
      failure: { rawParams: { ...valid, password: 'wrong-password' }, kind: 'auth' },
      close: () => sim.stop(),
    };
  });
});

describePowerDriverContract('redfish (lab Redfish service)', async () => {
  const machine = new FakeMachine('Off');
  const bmc = await startRedfishService({
    systems: { sys1: machine },
    username: 'root',
    password: 'calvin-9x',
  });
  const valid = { address: bmc.url, username: 'root', password: 'calvin-9x', verifyTls: false };
  return {
    driver: createRedfishPowerDriver(),
    rawParams: valid,
    invalidParams: [{}, { ...valid, address: 'not a url' }, { ...valid, username: 42 }],
    observable: true,
    powerChanges: () =>
      machine.resets.map((reset): PowerChange => {
        if (reset === 'On') return 'on';
        if (reset === 'ForceRestart') return 'reset';
        return 'off';
      }),
    nextBootDevice: () => {
      const boot = bmc.boot('sys1');
      return boot.BootSourceOverrideEnabled === 'Disabled'
        ? 'default'
        : boot.BootSourceOverrideTarget.toLowerCase();
    },
    failure: { rawParams: { ...valid, password: 'wrong-password' }, kind: 'auth' },
    close: () => bmc.close(),
  };
});

describePowerDriverContract('webhook (local HTTP endpoint)', async () => {
  // A power switch behind a small HTTP API: POST /on, /off, /cycle; GET /state.
  let state: 'on' | 'off' = 'off';
  const changes: PowerChange[] = [];
  const server = createServer((request, response) => {
    const authorized = request.headers.authorization === 'Bearer switch-token-1';
    if (!authorized) {
      response.writeHead(401).end();
      return;
    }
    const path = request.url ?? '';
    if (request.method === 'GET' && path === '/state') {
      response.end(`power=${state}`);
      return;
    }
    if (request.method === 'POST' && (path === '/on' || path === '/off' || path === '/cycle')) {
      const change: PowerChange = path === '/cycle' ? 'reset' : path === '/on' ? 'on' : 'off';
      changes.push(change);
      state = path === '/off' ? 'off' : 'on';
      response.end('ok');
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  const headers = { Authorization: 'Bearer {{token}}' };
  const valid = {
    token: 'switch-token-1',
    on: { url: `${base}/on`, headers },
    off: { url: `${base}/off`, headers },
    cycle: { url: `${base}/cycle`, headers },
    query: { url: `${base}/state`, headers, onPattern: 'power=on', offPattern: 'power=off' },
  };
  return {
    driver: createWebhookPowerDriver(),
    rawParams: valid,
    invalidParams: [{}, { ...valid, on: { url: 'ftp://nowhere' } }],
    observable: true,
    powerChanges: () => changes,
    failure: { rawParams: { ...valid, token: 'wrong-token' }, kind: 'auth' },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
});
