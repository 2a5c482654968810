import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The lab's virtual BMC lives with the lab (test/); @ingot/e2e is not a rack-agent dependency.
import * as bmc from '@ingot/lab/bmc/ipmi-sim.ts';
import type { PowerActionContext } from '../driver.ts';
import { setPower, type SetPowerOptions } from '../set-power.ts';
import {
  createExecaIpmitoolRunner,
  createIpmiPowerDriver,
  type IpmiPowerParams,
  type IpmitoolRunner,
} from './ipmi.ts';

const context = (pxeOnce = false): PowerActionContext => ({
  target: { machineId: 'm1', hostname: 'node1' },
  signal: new AbortController().signal,
  pxeOnce,
});

/** Tiny delays: the policy is what is under test, not the wall clock. */
const policy: SetPowerOptions = {
  maxAttempts: 3,
  retry: { initialMs: 1, maxMs: 2 },
  verify: { attempts: 50, intervalMs: 100 },
};

/** The real runner, counting invocations and keeping their arguments. */
function countingRunner(): { runner: IpmitoolRunner; args: (readonly string[])[] } {
  const real = createExecaIpmitoolRunner();
  const args: (readonly string[])[] = [];
  return {
    args,
    runner: (invocation) => {
      args.push(invocation.args);
      return real(invocation);
    },
  };
}

const suiteOf = (args: readonly string[]): string | undefined => args[args.indexOf('-C') + 1];

// Without the tools a developer's run skips these; CI (CI=true) runs them and fails loudly.
describe.skipIf(!bmc.ipmiSimAvailable() && process.env.CI === undefined)('ipmi vs ipmi_sim', () => {
  let sim: bmc.IpmiSim;
  let params: IpmiPowerParams;

  beforeAll(async () => {
    sim = await bmc.startIpmiSim();
    params = {
      address: sim.host,
      port: sim.port,
      username: sim.username,
      password: sim.password,
      cipherSuite: undefined,
      privilege: undefined,
    };
  });
  afterAll(async () => {
    await sim.stop();
  });

  const driver = createIpmiPowerDriver({
    timeoutMs: 15_000,
    session: { timeoutSeconds: 1, retries: 1 },
  });

  it('powers on, reports status, powers off, and cycles back on (verified)', async () => {
    const on = await setPower(driver, params, { action: 'on', uefi: false }, context(), policy);
    expect(on).toMatchObject({ ok: true, value: { state: 'on', verified: true, attempts: 1 } });
    expect(sim.powerState()).toBe('on');
    const status = await setPower(driver, params, { action: 'query', uefi: false }, context());
    expect(status).toMatchObject({ ok: true, value: { state: 'on' } });

    const off = await setPower(driver, params, { action: 'off', uefi: false }, context(), policy);
    expect(off).toMatchObject({ ok: true, value: { state: 'off', verified: true } });
    expect(sim.powerState()).toBe('off');

    await setPower(driver, params, { action: 'on', uefi: false }, context(), policy);
    const before = sim.chassisCalls().length;
    const cycle = await setPower(
      driver,
      params,
      { action: 'cycle', uefi: false },
      context(),
      policy,
    );
    expect(cycle).toMatchObject({ ok: true, value: { state: 'on', verified: true } });
    // quirk(OpenIPMI ipmi_sim): a cycle is power 0, then power 1 about a second later.
    const sets = sim
      .chassisCalls()
      .slice(before)
      .filter((call) => call.op === 'set')
      .map((call) => call.args.join(' '));
    expect(sets).toEqual(['power 0', 'power 1']);
  });

  it('sets a one-time PXE boot (efiboot for UEFI) before powering on', async () => {
    await setPower(driver, params, { action: 'off', uefi: false }, context(), policy);
    const counted = countingRunner();
    const counting = createIpmiPowerDriver({ runner: counted.runner });
    const on = await setPower(
      counting,
      params,
      { action: 'on', uefi: true },
      context(true),
      policy,
    );
    expect(on).toMatchObject({ ok: true, value: { state: 'on', verified: true } });
    expect(sim.bootDevice()).toBe('pxe');
    const commands = counted.args.map((args) => args.slice(args.indexOf('-v') + 1).join(' '));
    expect(commands.filter((c) => !c.includes('status'))).toEqual([
      'chassis bootdev pxe options=efiboot',
      'chassis bootdev pxe options=efiboot',
      'chassis power on',
    ]);
    // The first bootdev try used suite 17 and was refused; the rest used the remembered 3.
    const suites = counted.args.map(suiteOf);
    expect(suites.slice(0, 2)).toEqual(['17', '3']);
    expect(new Set(suites.slice(2))).toEqual(new Set(['3']));

    const flags = await createExecaIpmitoolRunner()({
      args: [
        '-I',
        'lanplus',
        '-H',
        sim.host,
        '-p',
        String(sim.port),
        '-U',
        sim.username,
        '-E',
      ].concat(['-C', '3', 'chassis', 'bootparam', 'get', '5']),
      password: sim.password,
      timeoutMs: 10_000,
      signal: new AbortController().signal,
    });
    expect(flags.stdout).toContain('Force PXE');
    expect(flags.stdout).toContain('Options apply to only next boot');
  });

  it('gives auth for a wrong password, without retrying', async () => {
    const counted = countingRunner();
    const counting = createIpmiPowerDriver({ runner: counted.runner });
    const wrong = { ...params, password: 'not-the-password' };
    const result = await setPower(
      counting,
      wrong,
      { action: 'on', uefi: false },
      context(),
      policy,
    );
    expect(result).toMatchObject({ ok: false, error: { kind: 'auth', attempts: 1 } });
    expect(JSON.stringify(result)).not.toContain('not-the-password');
    // One query: suite 17 refused (before authentication), then suite 3 refused the password.
    expect(counted.args.map(suiteOf)).toEqual(['17', '3']);
  });

  it('gives connection for a BMC that does not answer, retried by the policy', async () => {
    const counted = countingRunner();
    const counting = createIpmiPowerDriver({
      runner: counted.runner,
      timeoutMs: 10_000,
      session: { timeoutSeconds: 1, retries: 1 },
    });
    const silent = { ...params, port: await bmc.closedUdpPort() };
    const result = await setPower(
      counting,
      silent,
      { action: 'on', uefi: false },
      context(),
      policy,
    );
    expect(result).toMatchObject({ ok: false, error: { kind: 'connection', attempts: 3 } });
    // One query per attempt: no answer is not a cipher refusal, so there is no fallback.
    expect(counted.args.map(suiteOf)).toEqual(['17', '17', '17']);
  });

  it('drives a pluggable chassis command (how the lab drives a VM)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ingot-chassis-hook-'));
    const hook = join(dir, 'vm-power');
    // Stands in for the lab's QMP client: its own power file, every call logged.
    writeFileSync(
      hook,
      [
        '#!/bin/sh',
        `echo "$*" >> ${dir}/calls`,
        `if [ "$1" = get ]; then cat ${dir}/vm 2>/dev/null || echo 0; exit 0; fi`,
        `if [ "$2" = power ]; then echo "$3" > ${dir}/vm; fi`,
        '',
      ].join('\n'),
    );
    chmodSync(hook, 0o755);
    const vmSim = await bmc.startIpmiSim({ chassisCommand: [hook] });
    try {
      const vmParams = { ...params, port: vmSim.port, password: vmSim.password };
      const on = await setPower(driver, vmParams, { action: 'on', uefi: false }, context(), policy);
      expect(on).toMatchObject({ ok: true, value: { state: 'on', verified: true } });
      expect(readFileSync(join(dir, 'vm'), 'utf8').trim()).toBe('1');
      expect(readFileSync(join(dir, 'calls'), 'utf8')).toContain('set power 1');
    } finally {
      await vmSim.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
