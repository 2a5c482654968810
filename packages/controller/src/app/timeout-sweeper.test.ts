import { silentLogger } from '@ingot/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Machine } from '../domain/machine/machine.ts';
import type { Rack } from '../domain/rack.ts';
import {
  createServiceFixture,
  rackStep,
  type FixtureUser,
  type ServiceFixture,
} from '../testing/index.ts';
import { sweepTimeouts } from './timeout-sweeper.ts';

const MINUTE = 60_000;
const timeouts = {
  commissioningMs: 10 * MINUTE,
  deployingMs: 20 * MINUTE,
  releasingMs: 5 * MINUTE,
};

let f: ServiceFixture;
let alice: FixtureUser;
let rack: Rack;

beforeEach(async () => {
  f = await createServiceFixture({ timeouts });
  alice = await f.addUser('alice');
  ({ rack } = await f.enrollRack());
});

afterEach(async () => {
  await f.close();
});

function sweep(): Promise<number> {
  return sweepTimeouts({
    store: f.store,
    machines: f.machines,
    clock: f.clock,
    logger: silentLogger,
  });
}

async function deploying(): Promise<Machine> {
  const m = await f.allocatedMachine(alice);
  const result = await f.machines.deploy(alice.actor, m.id, { os: 'debian', release: 'bookworm' });
  if (!result.ok) throw new Error(result.error.kind);
  return result.value;
}

describe('sweepTimeouts', () => {
  it('fails an overdue deployment with the last step and its message', async () => {
    const m = await deploying();
    f.clock.advance(MINUTE);
    await f.racks.recordEvents(rack.id, [
      rackStep(m.id, 'boot.kernel', 'started', { message: 'Loading kernel' }),
    ]);

    f.clock.advance(19 * MINUTE - 1);
    expect(await sweep()).toBe(0);
    expect((await f.store.getMachine(m.id))?.status).toBe('deploying');

    f.clock.advance(1);
    expect(await sweep()).toBe(1);
    const after = await f.store.getMachine(m.id);
    expect(after).toMatchObject({ status: 'failed_deployment', statusDeadlineMs: null });
    expect(after?.statusMessage).toBe(
      'Timed out in deploying; last step boot.kernel started: Loading kernel',
    );
    const [event] = (await f.store.listEvents({ machineId: m.id })).filter(
      (e) => e.step === 'timeout',
    );
    expect(event).toMatchObject({
      kind: 'transition',
      fromStatus: 'deploying',
      toStatus: 'failed_deployment',
      actor: 'system',
      data: { lastStep: { step: 'boot.kernel', message: 'Loading kernel' } },
    });
    expect(await sweep()).toBe(0);
  });

  it('says when no step was reported at all', async () => {
    const m = await deploying();
    f.clock.advance(20 * MINUTE);
    expect(await sweep()).toBe(1);
    expect((await f.store.getMachine(m.id))?.statusMessage).toBe(
      'Timed out in deploying; no step was reported',
    );
  });

  it('uses each status’s own timeout', async () => {
    const commissioning = await f.createMachine({
      commission: true,
      power: { type: 'manual', params: {} },
    });
    const deploy = await deploying();
    f.clock.advance(10 * MINUTE);
    expect(await sweep()).toBe(1);
    expect((await f.store.getMachine(commissioning.id))?.status).toBe('failed_commissioning');
    expect((await f.store.getMachine(deploy.id))?.status).toBe('deploying');
  });

  it('times out a releasing machine', async () => {
    const m = await deploying();
    await f.racks.recordEvents(rack.id, [rackStep(m.id, 'deployed')]);
    const released = await f.machines.act(alice.actor, m.id, 'release', { message: 'Released' });
    expect(released.ok).toBe(true);
    f.clock.advance(5 * MINUTE);
    expect(await sweep()).toBe(1);
    expect((await f.store.getMachine(m.id))?.status).toBe('failed_releasing');
  });

  it('ends the status of a locked machine too: a timeout is an observation', async () => {
    const m = await deploying();
    expect((await f.machines.setLocked(alice.actor, m.id, true)).ok).toBe(true);
    f.clock.advance(20 * MINUTE);
    expect(await sweep()).toBe(1);
    expect(await f.store.getMachine(m.id)).toMatchObject({
      status: 'failed_deployment',
      locked: true,
    });
  });

  it('leaves a deployment that finished in time alone', async () => {
    const m = await deploying();
    await f.racks.recordEvents(rack.id, [rackStep(m.id, 'deployed')]);
    f.clock.advance(60 * MINUTE);
    expect(await sweep()).toBe(0);
    expect((await f.store.getMachine(m.id))?.status).toBe('deployed');
  });
});
