import { createServer } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
/* The lab Redfish service lives with the lab (test/, package @ingot/e2e), which depends on this
   package; a relative import keeps the dependency one-way for this test file only. */
import { FakeMachine } from '@ingot/lab/redfish/machine.ts';
import { startRedfishService, type RedfishService } from '@ingot/lab/redfish/service.ts';
import type { PowerActionContext } from '../driver.ts';
import { setPower } from '../set-power.ts';
import { createRedfishPowerDriver, type RedfishPowerParams } from './redfish.ts';

const USER = 'admin';
const PASSWORD = 'lab-secret-pw';

const context = (pxeOnce = false): PowerActionContext => ({
  target: { machineId: 'm1', hostname: 'node1' },
  signal: new AbortController().signal,
  pxeOnce,
});
const noSleep = { sleep: () => Promise.resolve(), verify: { attempts: 3, intervalMs: 0 } };

describe('redfish driver: parameters', () => {
  const driver = createRedfishPowerDriver();
  const base = { address: 'https://10.0.0.5', username: 'root', password: 'x' };

  it('fills defaults', () => {
    expect(driver.parseParams(base)).toEqual({
      ok: true,
      value: { ...base, systemId: undefined, verifyTls: true, authMode: 'session' },
    });
    expect(driver.secretFields).toEqual(['password']);
  });

  it.each([
    ['not an object', 'x'],
    ['missing address', { username: 'root', password: 'x' }],
    ['bad URL', { ...base, address: 'bmc' }],
    ['ftp URL', { ...base, address: 'ftp://bmc' }],
    ['credentials in URL', { ...base, address: 'https://root:pw@bmc' }],
    ['empty username', { ...base, username: '' }],
    ['numeric password', { ...base, password: 1 }],
    ['empty systemId', { ...base, systemId: '' }],
    ['string verifyTls', { ...base, verifyTls: 'no' }],
    ['unknown authMode', { ...base, authMode: 'digest' }],
    ['unknown key', { ...base, port: 443 }],
  ])('rejects %s as a settings error', (_name, raw) => {
    const parsed = driver.parseParams(raw);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error.kind).toBe('settings');
  });
});

describe('redfish driver against the lab Redfish service (fake machines)', () => {
  let service: RedfishService;
  let node1: FakeMachine;
  let node2: FakeMachine;
  const driver = createRedfishPowerDriver({ timeoutMs: 5000 });
  let params: RedfishPowerParams;

  beforeAll(async () => {
    node1 = new FakeMachine('Off');
    node2 = new FakeMachine('Off');
    service = await startRedfishService({
      systems: { node1, node2 },
      username: USER,
      password: PASSWORD,
    });
  });
  afterAll(() => service.close());
  beforeEach(() => {
    node1.state = 'Off';
    node2.state = 'Off';
    node1.boots.length = 0;
    node1.resets.length = 0;
    const parsed = driver.parseParams({
      address: service.url,
      username: USER,
      password: PASSWORD,
      verifyTls: false,
    });
    if (!parsed.ok) throw new Error(parsed.error.message);
    params = parsed.value;
  });

  it('powers on, reports on, and never restarts a machine that is on', async () => {
    const on = await setPower(driver, params, { action: 'on', uefi: false }, context(), noSleep);
    expect(on).toMatchObject({ ok: true, value: { state: 'on', verified: true, attempts: 1 } });
    expect(node1.resets).toEqual(['On']);
    expect(await driver.query(params, context())).toEqual({ ok: true, value: 'on' });

    const again = await driver.on(params, context());
    expect(again).toEqual({
      ok: true,
      value: { state: 'on', message: 'already On; not restarted' },
    });
    expect(node1.resets).toEqual(['On']);
    expect(node1.boots).toHaveLength(1);
  });

  it('powers off with ForceOff and does nothing when already off', async () => {
    node1.state = 'On';
    const off = await setPower(driver, params, { action: 'off', uefi: false }, context(), noSleep);
    expect(off).toMatchObject({ ok: true, value: { state: 'off', verified: true } });
    expect(node1.resets).toEqual(['ForceOff']);
    expect(await driver.off(params, context())).toMatchObject({
      ok: true,
      value: { state: 'off' },
    });
    expect(node1.resets).toEqual(['ForceOff']);
  });

  it('cycles with ForceRestart when on and with On when off', async () => {
    node1.state = 'On';
    expect((await driver.cycle(params, context())).ok).toBe(true);
    node1.state = 'Off';
    const cycled = await setPower(driver, params, { action: 'cycle', uefi: false }, context());
    expect(cycled).toMatchObject({ ok: true, value: { state: 'on', verified: true } });
    expect(node1.resets).toEqual(['ForceRestart', 'On']);
  });

  it('sets a one-time PXE override that the next boot uses once', async () => {
    const on = await setPower(
      driver,
      params,
      { action: 'on', uefi: false },
      context(true),
      noSleep,
    );
    expect(on.ok).toBe(true);
    expect(service.events).toContainEqual({
      kind: 'boot-override',
      systemId: 'node1',
      boot: {
        BootSourceOverrideEnabled: 'Once',
        BootSourceOverrideTarget: 'Pxe',
        BootSourceOverrideMode: 'Legacy',
      },
    });
    expect(service.boot('node1').BootSourceOverrideEnabled).toBe('Disabled');
    await setPower(driver, params, { action: 'cycle', uefi: false }, context(), noSleep);
    expect(node1.boots).toEqual([
      { reset: 'On', from: 'Pxe', mode: 'Legacy' },
      { reset: 'ForceRestart', from: 'default', mode: undefined },
    ]);
  });

  it('asks for UEFI mode when the machine boots UEFI', async () => {
    const set = await driver.setBootDevice(
      params,
      'pxe',
      { persistent: false, uefi: true },
      context(),
    );
    expect(set).toEqual({ ok: true, value: undefined });
    expect(service.boot('node1')).toEqual({
      BootSourceOverrideEnabled: 'Once',
      BootSourceOverrideTarget: 'Pxe',
      BootSourceOverrideMode: 'UEFI',
    });
    await driver.on(params, context());
    expect(node1.boots).toEqual([{ reset: 'On', from: 'Pxe', mode: 'UEFI' }]);
  });

  it('uses a configured system id instead of the first member', async () => {
    await driver.on({ ...params, systemId: 'node2' }, context());
    expect(node2.state).toBe('On');
    expect(node1.resets).toEqual([]);
  });

  it('logs in once, reuses the token, and logs in again once after the session expires', async () => {
    const fresh = createRedfishPowerDriver();
    const before = service.events.filter((e) => e.kind === 'session-created').length;
    const from = service.requests.length;
    await fresh.query(params, context());
    await fresh.on(params, context());
    await fresh.query(params, context());
    const created = () => service.events.filter((e) => e.kind === 'session-created').length;
    expect(created() - before).toBe(1);
    const used = service.requests.slice(from).filter((r) => r.auth !== 'none');
    expect(used.length).toBeGreaterThan(3);
    expect(used.every((r) => r.auth === 'token')).toBe(true);

    service.expireSessions();
    expect(await fresh.query(params, context())).toEqual({ ok: true, value: 'on' });
    expect(created() - before).toBe(2);
  });

  it('uses Basic auth on every request in basic mode and creates no session', async () => {
    const before = service.sessionIds().length;
    const from = service.requests.length;
    const basic = { ...params, authMode: 'basic' as const };
    await setPower(driver, basic, { action: 'on', uefi: false }, context(true), noSleep);
    expect(node1.state).toBe('On');
    expect(service.sessionIds()).toHaveLength(before);
    const seen = service.requests.slice(from);
    expect(seen.length).toBeGreaterThan(2);
    expect(seen.every((r) => r.auth === 'basic')).toBe(true);
  });

  it.each(['session', 'basic'] as const)(
    'wrong password (%s) is an auth error, not retried, not echoed',
    async (authMode) => {
      const wrong = { ...params, password: 'not-the-password', authMode };
      const result = await setPower(driver, wrong, { action: 'on', uefi: false }, context(), {
        ...noSleep,
        maxAttempts: 3,
      });
      expect(result).toMatchObject({ ok: false, error: { kind: 'auth', attempts: 1 } });
      if (!result.ok) expect(result.error.message).not.toContain('not-the-password');
      expect(node1.resets).toEqual([]);
    },
  );

  it('refuses the self-signed certificate when verifyTls is on (settings)', async () => {
    const result = await driver.query({ ...params, verifyTls: true }, context());
    expect(result).toMatchObject({ ok: false, error: { kind: 'settings' } });
  });

  it('reports a system id the BMC does not have as a settings error', async () => {
    const result = await driver.query({ ...params, systemId: 'nope' }, context());
    expect(result).toMatchObject({ ok: false, error: { kind: 'settings' } });
  });

  it('reports a closed port as a connection error, retried by policy', async () => {
    const port = await closedPort();
    const closed = { ...params, address: `https://127.0.0.1:${port}` };
    const result = await setPower(driver, closed, { action: 'on', uefi: false }, context(), {
      ...noSleep,
      maxAttempts: 2,
    });
    expect(result).toMatchObject({ ok: false, error: { kind: 'connection', attempts: 2 } });
    if (!result.ok) expect(result.error.message).toContain('ECONNREFUSED');
  });
});

describe('redfish driver over plain HTTP', () => {
  it('works when the service has TLS off', async () => {
    const machine = new FakeMachine('On');
    const service = await startRedfishService({
      systems: { '1': machine },
      username: USER,
      password: PASSWORD,
      tls: false,
    });
    try {
      const driver = createRedfishPowerDriver();
      const params = { address: service.url, username: USER, password: PASSWORD };
      const parsed = driver.parseParams(params);
      if (!parsed.ok) throw new Error(parsed.error.message);
      expect(await driver.off(parsed.value, context())).toMatchObject({ ok: true });
      expect(machine.state).toBe('Off');
    } finally {
      await service.close();
    }
  });
});

/** A loopback port with nothing listening (bound, read, closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
