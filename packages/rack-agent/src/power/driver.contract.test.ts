import { describe } from 'vitest';
// The lab's virtual BMC lives with the lab (test/); @ingot/e2e is not a rack-agent dependency.
import { ipmiSimAvailable, startIpmiSim } from '@ingot/lab/bmc/ipmi-sim.ts';
import { FakePowerDriver } from '../testing/fake-power-driver.ts';
import { describePowerDriverContract, type PowerChange } from './driver.contract.ts';
import { createIpmiPowerDriver } from './drivers/ipmi.ts';
import { createManualPowerDriver } from './drivers/manual.ts';

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
