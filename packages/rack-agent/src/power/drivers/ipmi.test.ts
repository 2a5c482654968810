import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJsonLogger } from '@ingot/common';
import type { PowerActionContext } from '../driver.ts';
import {
  createExecaIpmitoolRunner,
  createIpmiPowerDriver,
  parseIpmiParams,
  type IpmiPowerParams,
  type IpmitoolExit,
  type IpmitoolInvocation,
} from './ipmi.ts';

const PASSWORD = 'hunter2-secret';
const params: IpmiPowerParams = {
  address: '10.0.0.9',
  port: 623,
  username: 'admin',
  password: PASSWORD,
  cipherSuite: undefined,
  privilege: undefined,
};

const context = (signal = new AbortController().signal): PowerActionContext => ({
  target: { machineId: 'm1', hostname: 'node1' },
  signal,
  pxeOnce: false,
});

function capture(name: string): string {
  return readFileSync(new URL(`testdata/${name}`, import.meta.url), 'utf8');
}

const exited = (exitCode: number, stdout = '', stderr = ''): IpmitoolExit => ({
  end: 'exited',
  exitCode,
  stdout,
  stderr,
});

/** A scripted runner: answers by the command words after `-v`, records every invocation. */
function scriptedRunner(answer: (suite: string, command: string) => IpmitoolExit): {
  runner: (invocation: IpmitoolInvocation) => Promise<IpmitoolExit>;
  calls: IpmitoolInvocation[];
  commands: () => string[];
} {
  const calls: IpmitoolInvocation[] = [];
  const part = (args: readonly string[]) => ({
    suite: args[args.indexOf('-C') + 1] ?? '',
    command: args.slice(args.indexOf('-v') + 1).join(' '),
  });
  return {
    calls,
    commands: () => calls.map(({ args }) => `${part(args).suite}: ${part(args).command}`),
    runner: (invocation) => {
      calls.push(invocation);
      const { suite, command } = part(invocation.args);
      return Promise.resolve(answer(suite, command));
    },
  };
}

/** ipmi_sim's behaviour: suite 17 refused, power state held here. */
function simLike(initial: 'on' | 'off') {
  let power = initial;
  return scriptedRunner((suite, command) => {
    if (suite === '17') return exited(1, '', capture('ipmi-sim-cipher-17-refused.stderr.txt'));
    if (command === 'chassis power status') return exited(0, `Chassis Power is ${power}\n`);
    if (command === 'chassis power on') power = 'on';
    if (command === 'chassis power off') power = 'off';
    if (command.startsWith('chassis bootdev')) return exited(0, 'Set Boot Device to pxe\n');
    return exited(0, `Chassis Power Control: ${command}\n`);
  });
}

describe('parseIpmiParams', () => {
  it('fills defaults and accepts form strings', () => {
    expect(parseIpmiParams({ address: 'bmc1', username: 'u', password: 'p' })).toEqual({
      ok: true,
      value: {
        address: 'bmc1',
        port: 623,
        username: 'u',
        password: 'p',
        cipherSuite: undefined,
        privilege: undefined,
      },
    });
    const parsed = parseIpmiParams({
      ...params,
      port: '1623',
      cipherSuite: '3',
      privilege: 'admin',
    });
    expect(parsed).toMatchObject({
      ok: true,
      value: { port: 1623, cipherSuite: 3, privilege: 'ADMINISTRATOR' },
    });
    expect(parseIpmiParams({ ...params, cipherSuite: null }).ok).toBe(true);
  });

  it.each([
    [{ ...params, password: `${PASSWORD}-too-long-for-ipmi` }, 'password'],
    [{ ...params, port: 0 }, 'port'],
    [{ ...params, address: 'two words' }, 'address'],
    [{ ...params, privilege: 'OEM' }, 'privilege'],
  ])('rejects %j with settings naming %s, never the password', (raw, field) => {
    const parsed = parseIpmiParams(raw);
    expect(parsed).toMatchObject({ ok: false, error: { kind: 'settings' } });
    expect(JSON.stringify(parsed)).toContain(field);
    expect(JSON.stringify(parsed)).not.toContain(PASSWORD);
  });
});

describe('ipmi driver with a scripted ipmitool', () => {
  it('passes the password only in the invocation, never in the arguments', async () => {
    const sim = simLike('off');
    const driver = createIpmiPowerDriver({
      runner: sim.runner,
      session: { timeoutSeconds: 1, retries: 2 },
    });
    await driver.query({ ...params, cipherSuite: 3, privilege: 'OPERATOR' }, context());
    expect(sim.calls[0]?.args).toEqual(
      ['-I', 'lanplus', '-H', '10.0.0.9', '-p', '623', '-U', 'admin', '-E', '-C', '3'].concat([
        '-L',
        'OPERATOR',
        '-N',
        '1',
        '-R',
        '2',
        '-v',
        'chassis',
        'power',
        'status',
      ]),
    );
    expect(sim.calls[0]?.password).toBe(PASSWORD);
  });

  it('falls back from suite 17 to 3 once, remembers 3, and logs no password', async () => {
    const sim = simLike('on');
    const lines: string[] = [];
    const logger = createJsonLogger((line) => lines.push(line), 'debug');
    const driver = createIpmiPowerDriver({ runner: sim.runner, logger });
    expect(await driver.query(params, context())).toEqual({ ok: true, value: 'on' });
    expect(await driver.query(params, context())).toEqual({ ok: true, value: 'on' });
    expect(sim.commands()).toEqual([
      '17: chassis power status',
      '3: chassis power status',
      '3: chassis power status',
    ]);
    expect(lines.join('')).toContain('falling back');
    expect(lines.join('')).not.toContain(PASSWORD);
  });

  it('gives settings when a fixed cipher suite is refused', async () => {
    const sim = simLike('on');
    const driver = createIpmiPowerDriver({ runner: sim.runner });
    const result = await driver.query({ ...params, cipherSuite: 17 }, context());
    expect(result).toMatchObject({ ok: false, error: { kind: 'settings' } });
    expect(sim.calls).toHaveLength(1);
  });

  it.each([
    ['ipmi-sim-wrong-password.stderr.txt', 'auth'],
    ['ipmi-sim-wrong-user.stderr.txt', 'auth'],
    ['ipmi-sim-user-privilege-power-off.stderr.txt', 'auth'],
    ['closed-port.stderr.txt', 'connection'],
  ])('maps the captured %s to %s', async (file, kind) => {
    const { runner } = scriptedRunner(() => exited(1, '', capture(file)));
    const driver = createIpmiPowerDriver({ runner });
    const result = await driver.query({ ...params, cipherSuite: 3 }, context());
    expect(result).toMatchObject({ ok: false, error: { kind } });
  });

  it.each([
    [{ end: 'not-found', exitCode: undefined, stdout: '', stderr: '' }, 'tool-missing'],
    [{ end: 'timed-out', exitCode: undefined, stdout: '', stderr: '' }, 'connection'],
    [{ end: 'aborted', exitCode: undefined, stdout: '', stderr: '' }, 'connection'],
    [exited(1, '', `Error: odd failure for ${PASSWORD}`), 'action'],
    [exited(0, 'garbage'), 'action'],
  ] as const)('maps %j to %s, redacting the password', async (exit, kind) => {
    const { runner } = scriptedRunner(() => exit);
    const driver = createIpmiPowerDriver({ runner });
    const result = await driver.query(params, context());
    expect(result).toMatchObject({ ok: false, error: { kind } });
    expect(JSON.stringify(result)).not.toContain(PASSWORD);
  });

  it.each([
    ['on', 'off', ['chassis power status', 'chassis power on']],
    ['on', 'on', ['chassis power status']],
    ['off', 'on', ['chassis power status', 'chassis power off']],
    ['off', 'off', ['chassis power status']],
    ['cycle', 'on', ['chassis power status', 'chassis power cycle']],
    ['cycle', 'off', ['chassis power status', 'chassis power on']],
  ] as const)('%s when %s sends %j', async (action, initial, expected) => {
    const sim = simLike(initial);
    const driver = createIpmiPowerDriver({ runner: sim.runner });
    expect((await driver[action]({ ...params, cipherSuite: 3 }, context())).ok).toBe(true);
    expect(sim.commands()).toEqual(expected.map((command) => `3: ${command}`));
  });

  it.each([
    [{ persistent: false, uefi: true }, 'chassis bootdev pxe options=efiboot'],
    [{ persistent: false, uefi: false }, 'chassis bootdev pxe'],
    [{ persistent: true, uefi: true }, 'chassis bootdev pxe options=persistent,efiboot'],
  ])('setBootDevice(pxe, %j) sends %s', async (options, expected) => {
    const sim = simLike('off');
    const driver = createIpmiPowerDriver({ runner: sim.runner });
    const set = await driver.setBootDevice?.(
      { ...params, cipherSuite: 3 },
      'pxe',
      options,
      context(),
    );
    expect(set).toEqual({ ok: true, value: undefined });
    expect(sim.commands()).toEqual([`3: ${expected}`]);
  });

  it('treats a refused boot parameter with exit 0 as a failure (ipmitool quirk)', async () => {
    const { runner } = scriptedRunner(() =>
      exited(
        0,
        capture('ipmi-sim-bootdev-refused.stdout.txt'),
        capture('ipmi-sim-bootdev-refused.stderr.txt'),
      ),
    );
    const driver = createIpmiPowerDriver({ runner });
    const set = await driver.setBootDevice?.(
      params,
      'pxe',
      { persistent: false, uefi: false },
      context(),
    );
    expect(set).toMatchObject({ ok: false, error: { kind: 'action' } });
    expect(JSON.stringify(set)).toContain('Boot Parameter 5 failed: Unspecified error');
  });
});

describe('createExecaIpmitoolRunner', () => {
  let dir: string;
  /** A stand-in ipmitool: records its argv and whether IPMI_PASSWORD arrived, then runs `body`. */
  function fakeIpmitool(body: string): string {
    const path = join(dir, `ipmitool-${String(Math.random()).slice(2)}`);
    writeFileSync(
      path,
      `#!/bin/sh\necho "$@" > "${dir}/argv"\necho "$IPMI_PASSWORD" > "${dir}/env"\n${body}\n`,
    );
    chmodSync(path, 0o755);
    return path;
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ingot-ipmi-test-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('hands the password over in IPMI_PASSWORD, not in argv', async () => {
    const runner = createExecaIpmitoolRunner(fakeIpmitool('echo "Chassis Power is on"'));
    const driver = createIpmiPowerDriver({ runner });
    expect(await driver.query(params, context())).toEqual({ ok: true, value: 'on' });
    expect(readFileSync(join(dir, 'argv'), 'utf8')).not.toContain(PASSWORD);
    expect(readFileSync(join(dir, 'argv'), 'utf8')).toContain('-E');
    expect(readFileSync(join(dir, 'env'), 'utf8').trim()).toBe(PASSWORD);
  });

  it('maps a missing binary to tool-missing', async () => {
    const runner = createExecaIpmitoolRunner(join(dir, 'no-such-ipmitool'));
    const result = await createIpmiPowerDriver({ runner }).query(params, context());
    expect(result).toMatchObject({ ok: false, error: { kind: 'tool-missing' } });
  });

  it('kills a hung ipmitool at the timeout and on abort (connection)', async () => {
    const runner = createExecaIpmitoolRunner(fakeIpmitool('exec sleep 30'));
    const started = Date.now();
    const timedOut = await createIpmiPowerDriver({ runner, timeoutMs: 200 }).query(
      params,
      context(),
    );
    expect(timedOut).toMatchObject({ ok: false, error: { kind: 'connection' } });
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 100);
    const aborted = await createIpmiPowerDriver({ runner }).query(params, context(abort.signal));
    expect(aborted).toMatchObject({ ok: false, error: { kind: 'connection' } });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
