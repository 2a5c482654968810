import { describe, expect, it } from 'vitest';
import { FakePowerDriver, type FakePowerParams } from '../testing/fake-power-driver.ts';
import type { PowerActionContext } from './driver.ts';
import { setPower, type SetPowerOptions } from './set-power.ts';

const params: FakePowerParams = { address: '10.0.0.9', password: 'hunter2-secret' };
const context = (pxeOnce = false, signal = new AbortController().signal): PowerActionContext => ({
  target: { machineId: 'm1', hostname: 'node1' },
  signal,
  pxeOnce,
});
const sleeps: number[] = [];
const options: SetPowerOptions = {
  maxAttempts: 3,
  retry: { initialMs: 100, maxMs: 1000 },
  verify: { attempts: 3, intervalMs: 50 },
  sleep: (ms) => {
    sleeps.push(ms);
    return Promise.resolve();
  },
  random: () => 0,
};

describe('setPower', () => {
  it('powers on and verifies by query', async () => {
    const driver = new FakePowerDriver();
    const result = await setPower(
      driver,
      params,
      { action: 'on', uefi: false },
      context(),
      options,
    );
    expect(result).toMatchObject({ ok: true, value: { state: 'on', verified: true, attempts: 1 } });
    expect(driver.calls.map((c) => c.action)).toEqual(['on', 'query']);
  });

  it('sets a one-time PXE boot before on, never before off', async () => {
    const driver = new FakePowerDriver();
    await setPower(driver, params, { action: 'on', uefi: true }, context(true), options);
    expect(driver.callsOf('set-boot-device')[0]).toMatchObject({
      device: 'pxe',
      options: { persistent: false, uefi: true },
    });
    await setPower(driver, params, { action: 'off', uefi: true }, context(true), options);
    expect(driver.callsOf('set-boot-device')).toHaveLength(1);
  });

  it('notes when the driver cannot set the boot device', async () => {
    const driver = new FakePowerDriver({ withoutBootDevice: true });
    const result = await setPower(
      driver,
      params,
      { action: 'cycle', uefi: false },
      context(true),
      options,
    );
    expect(result.ok && result.value.message).toContain('cannot set the boot device');
  });

  it('polls until a slow BMC reports the new state', async () => {
    const driver = new FakePowerDriver({ queryLag: 2 });
    const result = await setPower(
      driver,
      params,
      { action: 'on', uefi: false },
      context(),
      options,
    );
    expect(result).toMatchObject({ ok: true, value: { verified: true } });
    expect(driver.callsOf('query')).toHaveLength(3);
  });

  it('retries connection and action errors with backoff', async () => {
    sleeps.length = 0;
    const driver = new FakePowerDriver()
      .failNext({ kind: 'connection', message: 'timeout' }, 'on')
      .failNext({ kind: 'action', message: 'busy' }, 'on');
    const result = await setPower(
      driver,
      params,
      { action: 'on', uefi: false },
      context(),
      options,
    );
    expect(result).toMatchObject({ ok: true, value: { attempts: 3 } });
    expect(sleeps).toEqual([50, 100]);
  });

  it('gives up after maxAttempts with the last error', async () => {
    const driver = new FakePowerDriver();
    for (let i = 0; i < 3; i++) driver.failNext({ kind: 'connection', message: `try ${i}` }, 'off');
    const result = await setPower(
      driver,
      params,
      { action: 'off', uefi: false },
      context(),
      options,
    );
    expect(result).toEqual({
      ok: false,
      error: { kind: 'connection', message: 'try 2', attempts: 3 },
    });
  });

  it.each(['settings', 'auth', 'unsupported', 'tool-missing'] as const)(
    'does not retry %s errors',
    async (kind) => {
      const driver = new FakePowerDriver().failNext({ kind, message: 'no' }, 'on');
      const result = await setPower(
        driver,
        params,
        { action: 'on', uefi: false },
        context(),
        options,
      );
      expect(result).toMatchObject({ ok: false, error: { kind, attempts: 1 } });
      expect(driver.callsOf('on')).toHaveLength(1);
    },
  );

  it('fails verification when the state never arrives', async () => {
    const driver = new FakePowerDriver({ queryLag: 100 });
    const result = await setPower(driver, params, { action: 'on', uefi: false }, context(), {
      ...options,
      maxAttempts: 1,
    });
    expect(result).toMatchObject({
      ok: false,
      error: { kind: 'action', message: 'power is off, expected on' },
    });
  });

  it('answers a query without changing anything', async () => {
    const driver = new FakePowerDriver({ initialState: 'on' });
    const result = await setPower(
      driver,
      params,
      { action: 'query', uefi: false },
      context(),
      options,
    );
    expect(result).toMatchObject({ ok: true, value: { state: 'on' } });
    expect(driver.calls.map((c) => c.action)).toEqual(['query']);
  });

  it('redacts secrets from driver messages and turns driver exceptions into action errors', async () => {
    const driver = new FakePowerDriver().failNext(
      { kind: 'auth', message: 'ipmitool -P hunter2-secret: bad password' },
      'on',
    );
    const failed = await setPower(
      driver,
      params,
      { action: 'on', uefi: false },
      context(),
      options,
    );
    expect(JSON.stringify(failed)).not.toContain('hunter2-secret');

    const throwing = new FakePowerDriver();
    throwing.on = () => Promise.reject(new Error('boom hunter2-secret'));
    const thrown = await setPower(throwing, params, { action: 'on', uefi: false }, context(), {
      ...options,
      maxAttempts: 1,
    });
    expect(thrown).toEqual({
      ok: false,
      error: { kind: 'action', message: 'driver error: boom ***', attempts: 1 },
    });
  });

  it('stops retrying when aborted', async () => {
    const controller = new AbortController();
    const driver = new FakePowerDriver().failNext({ kind: 'connection', message: 'down' }, 'on');
    const result = await setPower(
      driver,
      params,
      { action: 'on', uefi: false },
      context(false, controller.signal),
      {
        ...options,
        sleep: () => {
          controller.abort();
          return Promise.resolve();
        },
      },
    );
    expect(result).toMatchObject({
      ok: false,
      error: { kind: 'connection', message: 'aborted: down' },
    });
    expect(driver.callsOf('on')).toHaveLength(1);
  });
});
