import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@ingot/common';
/* See redfish.test.ts: the lab Redfish service lives in test/ (package @ingot/e2e). */
import { createQmpMachine, type QmpSend } from '@ingot/lab/redfish/machine.ts';
import { startRedfishService } from '@ingot/lab/redfish/service.ts';
import type { PowerActionContext } from '../driver.ts';
import { setPower } from '../set-power.ts';
import { openQmp, type QmpAddress } from './qmp-client.ts';
import { createQemuPowerDriver, type QemuPowerParams } from './qemu.ts';
import { createRedfishPowerDriver } from './redfish.ts';

const QEMU = '/usr/bin/qemu-system-x86_64';
const context = (): PowerActionContext => ({
  target: { machineId: 'm1', hostname: 'vm1' },
  signal: new AbortController().signal,
  pxeOnce: false,
});
const fast = { sleep: () => Promise.resolve(), verify: { attempts: 20, intervalMs: 0 } };

describe('qemu driver: parameters', () => {
  const driver = createQemuPowerDriver();
  it.each([
    [{ qmp: 'unix:/run/vm1.qmp' }, { kind: 'unix', path: '/run/vm1.qmp' }],
    [{ qmp: '/run/vm1.qmp' }, { kind: 'unix', path: '/run/vm1.qmp' }],
    [{ qmp: 'tcp:127.0.0.1:4444' }, { kind: 'tcp', host: '127.0.0.1', port: 4444 }],
    [{ qmp: 'tcp:[::1]:4444' }, { kind: 'tcp', host: '::1', port: 4444 }],
  ])('parses %j', (raw, address) => {
    expect(driver.parseParams(raw)).toMatchObject({ ok: true, value: { address } });
  });
  it.each([
    ['missing', {}],
    ['relative path', { qmp: 'unix:vm.qmp' }],
    ['no port', { qmp: 'tcp:127.0.0.1' }],
    ['port 0', { qmp: 'tcp:127.0.0.1:0' }],
    ['unknown key', { qmp: '/x', pid: 1 }],
  ])('rejects %s', (_name, raw) => {
    expect(driver.parseParams(raw)).toMatchObject({ ok: false, error: { kind: 'settings' } });
  });
});

/**
 * A lab-style VM with no disk or network: `-S` (starts off), `-no-shutdown` (a guest power-off
 * keeps the process). SeaBIOS finds nothing to boot, which is enough to be "on".
 */
function startQemu(qmp: string, extra: readonly string[] = []): ChildProcess {
  const args = ['-accel', 'tcg', '-nodefaults', '-display', 'none', '-m', '64', '-S'];
  args.push('-no-shutdown', '-qmp', `${qmp},server=on,wait=off`, ...extra);
  return spawn(QEMU, args, { stdio: 'ignore' });
}

function stopQemu(child: ChildProcess | undefined): void {
  if (child?.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
}

async function waitFor(what: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One QMP command per connection, as the lab Redfish service sends them. */
function qmpSender(address: QmpAddress): QmpSend {
  return async (command, args) => {
    const opened = await openQmp(address, {
      timeoutMs: 5000,
      signal: new AbortController().signal,
    });
    if (!opened.ok) throw new Error(opened.error.message);
    try {
      const reply = await opened.value.execute(command, args);
      if (!reply.ok) throw new Error(reply.error.message);
      return reply.value;
    } finally {
      opened.value.close();
    }
  };
}

// Skip reason: needs QEMU (Debian qemu-system-x86, test/lab/debian-packages.txt).
describe.skipIf(!existsSync(QEMU) && process.env.CI === undefined)(
  'qemu driver against a real QEMU (TCG)',
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'ingot-qemu-driver-'));
    const socket = join(dir, 'vm.qmp');
    const driver = createQemuPowerDriver();
    let vm: ChildProcess | undefined;
    let params: QemuPowerParams;

    beforeAll(async () => {
      vm = startQemu(`unix:${socket}`);
      await waitFor(() => existsSync(socket));
      const parsed = driver.parseParams({ qmp: `unix:${socket}` });
      if (!parsed.ok) throw new Error(parsed.error.message);
      params = parsed.value;
    });
    afterAll(() => {
      stopQemu(vm);
      rmSync(dir, { recursive: true, force: true });
    });

    const runStatus = async (): Promise<unknown> =>
      Reflect.get(
        (await qmpSender({ kind: 'unix', path: socket })('query-status')) as object,
        'status',
      );

    it('reports a VM started with -S as off', async () => {
      expect(await driver.query(params, context())).toEqual({ ok: true, value: 'off' });
    });

    it('powers on (verified) and leaves a running VM alone', async () => {
      const on = await setPower(driver, params, { action: 'on', uefi: false }, context(), fast);
      expect(on).toMatchObject({ ok: true, value: { state: 'on', verified: true } });
      expect(await runStatus()).toBe('running');
      expect(await driver.on(params, context())).toEqual({
        ok: true,
        value: { state: 'on', message: 'already running; not reset' },
      });
    });

    it('powers off by stop + reset, and on again from firmware', async () => {
      const off = await setPower(driver, params, { action: 'off', uefi: false }, context(), fast);
      expect(off).toMatchObject({ ok: true, value: { state: 'off', verified: true } });
      expect(await runStatus()).not.toBe('running');
      expect(await driver.off(params, context())).toMatchObject({
        ok: true,
        value: { state: 'off' },
      });
      const on = await setPower(driver, params, { action: 'on', uefi: false }, context(), fast);
      expect(on).toMatchObject({ ok: true, value: { state: 'on', verified: true } });
    });

    it('cycles a running VM and powers on a stopped one', async () => {
      expect(await driver.cycle(params, context())).toMatchObject({
        ok: true,
        value: { state: 'on' },
      });
      await driver.off(params, context());
      const cycled = await setPower(
        driver,
        params,
        { action: 'cycle', uefi: false },
        context(),
        fast,
      );
      expect(cycled).toMatchObject({ ok: true, value: { state: 'on', verified: true } });
    });

    it('reports a missing socket as a connection error with the reason', async () => {
      const gone = driver.parseParams({ qmp: join(dir, 'missing.qmp') });
      if (!gone.ok) throw new Error('parse');
      const result = await setPower(driver, gone.value, { action: 'on', uefi: false }, context(), {
        ...fast,
        maxAttempts: 2,
      });
      expect(result).toMatchObject({ ok: false, error: { kind: 'connection', attempts: 2 } });
      if (!result.ok) expect(result.error.message).toContain('cannot be powered on over QMP');
    });

    it('the lab Redfish service drives the VM over QMP', async () => {
      await driver.off(params, context());
      const machine = createQmpMachine(qmpSender({ kind: 'unix', path: socket }));
      const service = await startRedfishService({
        systems: { vm1: machine },
        username: 'admin',
        password: 'lab-pw',
      });
      try {
        const redfish = createRedfishPowerDriver();
        const parsed = redfish.parseParams({
          address: service.url,
          username: 'admin',
          password: 'lab-pw',
          verifyTls: false,
        });
        if (!parsed.ok) throw new Error(parsed.error.message);
        const pxe = { ...context(), pxeOnce: true };
        const on = await setPower(redfish, parsed.value, { action: 'on', uefi: false }, pxe, fast);
        expect(on).toMatchObject({ ok: true, value: { state: 'on', verified: true } });
        expect(await runStatus()).toBe('running');
        const cycled = await setPower(
          redfish,
          parsed.value,
          { action: 'cycle', uefi: false },
          context(),
          fast,
        );
        expect(cycled).toMatchObject({ ok: true, value: { state: 'on', verified: true } });
        const off = await setPower(
          redfish,
          parsed.value,
          { action: 'off', uefi: false },
          context(),
          fast,
        );
        expect(off).toMatchObject({ ok: true, value: { state: 'off', verified: true } });
        expect(await runStatus()).not.toBe('running');
      } finally {
        await service.close();
      }
    });
  },
);

describe.skipIf(!existsSync(QEMU) && process.env.CI === undefined)(
  'qemu driver over QMP on TCP',
  () => {
    it('queries, powers on, and reports a QEMU that quit as unreachable', async () => {
      const port = await freePort();
      const vm = startQemu(`tcp:127.0.0.1:${port}`);
      try {
        const driver = createQemuPowerDriver({ timeoutMs: 3000 });
        const parsed = driver.parseParams({ qmp: `tcp:127.0.0.1:${port}` });
        if (!parsed.ok) throw new Error(parsed.error.message);
        await waitFor(async () => (await driver.query(parsed.value, context())).ok);
        expect(await driver.query(parsed.value, context())).toEqual({ ok: true, value: 'off' });
        expect(await driver.on(parsed.value, context())).toMatchObject({ ok: true });
        expect(await driver.query(parsed.value, context())).toEqual({ ok: true, value: 'on' });

        await qmpSender({ kind: 'tcp', host: '127.0.0.1', port })('quit').catch(() => undefined);
        await waitFor(() => vm.exitCode !== null || vm.signalCode !== null);
        const after = await driver.on(parsed.value, context());
        expect(after).toMatchObject({ ok: false, error: { kind: 'connection' } });
      } finally {
        stopQemu(vm);
      }
    });
  },
);

describe.skipIf(!existsSync(QEMU) && process.env.CI === undefined)(
  'qemu driver and a VM started with -no-reboot',
  () => {
    it('powers on a VM left in run state shutdown, or says why it cannot', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ingot-qemu-noreboot-'));
      const socket = join(dir, 'vm.qmp');
      const vm = startQemu(`unix:${socket}`, ['-no-reboot']);
      try {
        await waitFor(() => existsSync(socket));
        const send = qmpSender({ kind: 'unix', path: socket });
        await send('cont');
        // With -no-reboot a reset is a shutdown, and -no-shutdown keeps the process: the run
        // state a guest power-off leaves.
        await send('system_reset');
        await waitFor(
          async () => Reflect.get((await send('query-status')) as object, 'status') === 'shutdown',
        );
        const driver = createQemuPowerDriver();
        const parsed = driver.parseParams({ qmp: socket });
        if (!parsed.ok) throw new Error(parsed.error.message);
        expect(await driver.query(parsed.value, context())).toEqual({ ok: true, value: 'off' });
        const on = await driver.on(parsed.value, context());
        expect(on).toMatchObject({ ok: false, error: { kind: 'settings' } });
        if (!on.ok) expect(on.error.message).toContain('-no-reboot');
      } finally {
        stopQemu(vm);
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);
