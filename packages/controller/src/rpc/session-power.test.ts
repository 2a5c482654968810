/**
 * A rack session's power configs: the full push a session starts with, and pushes of just the
 * machines a change names. Runs on the real services and SQLite store; the session's sends are
 * recorded as the agent would read them (parameters opened).
 */
import type { SessionResponse } from '@ingot/proto/rack/v1';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../app/ports.ts';
import { rackPowerConfigs } from '../app/rack-power-configs.ts';
import type { Machine } from '../domain/machine/machine.ts';
import type { Rack } from '../domain/rack.ts';
import { valueOf } from '../testing/index.ts';
import { useServiceFixture } from '../testing/use-service-fixture.ts';
import { SessionPower } from './session-power.ts';

const t = useServiceFixture([]);

/** A power config as the agent receives it; `driver: ''` removes the machine. */
interface Sent {
  readonly machineId: string;
  readonly driver: string;
  readonly password?: unknown;
}

function byId(sent: Sent[]): Sent[] {
  return sent.sort((x, y) => x.machineId.localeCompare(y.machineId));
}

function bmc(password: string): Machine['power'] {
  return { type: 'ipmi', params: { host: '127.0.0.1', username: 'admin', password } };
}

/** The session's power side for `rack`, over a store that counts the machines it reads. */
function sessionFor(rack: Rack) {
  const sent: Sent[] = [];
  const reads = { machines: 0 };
  const store = t.f.store;
  const counting: Pick<Store, 'listRacks' | 'listMachines'> = {
    listRacks: () => store.listRacks(),
    listMachines: async (filter) => {
      const machines = await store.listMachines(filter);
      reads.machines += machines.length;
      return machines;
    },
  };
  const send = (m: SessionResponse): void => {
    const cmd = m.kind?.$case === 'command' ? m.kind.value.kind : undefined;
    if (cmd?.$case !== 'powerConfig') throw new Error('expected a power config');
    const { machineId, driver, paramsJson } = cmd.value;
    const params = paramsJson === '' ? {} : (JSON.parse(paramsJson) as Record<string, unknown>);
    sent.push(
      driver === '' ? { machineId, driver } : { machineId, driver, password: params['password'] },
    );
  };
  const power = new SessionPower(
    (ids) => rackPowerConfigs(counting, rack.id, ids),
    send,
    t.f.secrets,
  );
  /** Hands the service's notifications for this rack to the session, as the rack server does. */
  const deliver = async (): Promise<void> => {
    const { powerCalls, powerMachineIds } = t.f.notifier;
    const queued = powerCalls
      .map((rackId, i) => rackId === rack.id && power.request(powerMachineIds[i]))
      .includes(true);
    t.f.notifier.clear();
    if (queued) await power.pushPending();
  };
  /** What was sent (by machine id: the store answers in hostname order) and read since. */
  const take = (): { sent: Sent[]; read: number } => {
    const out = { sent: byId(sent.splice(0)), read: reads.machines };
    reads.machines = 0;
    return out;
  };
  return { power, deliver, take };
}

describe('session power configs', () => {
  let rack1: Rack;
  let rack2: Rack;
  beforeEach(async () => {
    rack1 = (await t.f.enrollRack('rack-1')).rack;
    rack2 = (await t.f.enrollRack('rack-2')).rack;
  });

  it('sends only the machines a change names, removals for those the rack lost, and everything on a full push', async () => {
    const on1 = (password: string) => ({ rackId: rack1.id, power: bmc(password) ?? undefined });
    const a = await t.f.createMachine(on1('a'));
    const b = await t.f.createMachine(on1('b'));
    const c = await t.f.createMachine(on1('c'));
    const d = await t.f.createMachine(on1('d'));
    const e = await t.f.createMachine(on1('e'));
    await t.f.createMachine({ rackId: rack1.id }); // no BMC
    await t.f.createMachine({ rackId: rack2.id, power: bmc('other') ?? undefined });
    const s = sessionFor(rack1);
    t.f.notifier.clear();

    // A session starts with every machine this rack polls.
    await s.power.push();
    expect(
      s
        .take()
        .sent.map((x) => x.password)
        .sort(),
    ).toEqual(['a', 'b', 'c', 'd', 'e']);

    // Changed: only it is sent, opened, and only it is read.
    valueOf(await t.f.machines.update(t.f.admin.actor, a.id, { power: bmc('a2') }));
    await s.deliver();
    expect(s.take()).toEqual({
      sent: [{ machineId: a.id, driver: 'ipmi', password: 'a2' }],
      read: 1,
    });

    // Unchanged (a rename names no power field; a rack "move" to the same rack changes nothing).
    valueOf(await t.f.machines.update(t.f.admin.actor, b.id, { rackId: rack1.id }));
    await s.deliver();
    expect(s.take()).toEqual({ sent: [], read: 1 });

    // Lost power settings, moved to another rack, deleted: removed.
    valueOf(await t.f.machines.update(t.f.admin.actor, b.id, { power: null }));
    valueOf(await t.f.machines.update(t.f.admin.actor, c.id, { rackId: rack2.id }));
    valueOf(await t.f.machines.delete(t.f.admin.actor, d.id));
    await s.deliver();
    expect(s.take().sent).toEqual(
      byId([
        { machineId: b.id, driver: '' },
        { machineId: c.id, driver: '' },
        { machineId: d.id, driver: '' },
      ]),
    );

    // A machine of another rack, and one never sent that is gone: nothing.
    const other = await t.f.createMachine({ rackId: rack2.id, power: bmc('x') ?? undefined });
    valueOf(await t.f.machines.delete(t.f.admin.actor, other.id));
    await s.deliver();
    expect(s.take().sent).toEqual([]);

    // A full push finds what changed without a notification, and resends nothing else.
    const f = await t.f.createMachine(on1('f'));
    await t.f.store.updateMachine(e.id, e.version, { power: null }, t.f.clock.now());
    t.f.notifier.clear();
    await s.power.push();
    expect(s.take().sent).toEqual(
      byId([
        { machineId: f.id, driver: 'ipmi', password: 'f' },
        { machineId: e.id, driver: '' },
      ]),
    );
    // Moved back: the rack polls it again.
    valueOf(await t.f.machines.update(t.f.admin.actor, c.id, { rackId: rack1.id }));
    await s.deliver();
    expect(s.take().sent).toEqual([{ machineId: c.id, driver: 'ipmi', password: 'c' }]);
  });

  it('requests wait for one push: every machine wins, else the machines named merge', async () => {
    const on1 = { rackId: rack1.id, power: bmc('p') ?? undefined };
    const [a, b, c] = [
      await t.f.createMachine(on1),
      await t.f.createMachine(on1),
      await t.f.createMachine(on1),
    ];
    const s = sessionFor(rack1);
    expect(s.power.request([a.id])).toBe(true);
    expect(s.power.request([b.id, a.id])).toBe(false);
    await s.power.pushPending();
    expect(s.take()).toEqual({
      sent: byId([a, b].map((m) => ({ machineId: m.id, driver: 'ipmi', password: 'p' }))),
      read: 2,
    });

    expect(s.power.request([a.id])).toBe(true);
    expect(s.power.request()).toBe(false);
    expect(s.power.request([b.id])).toBe(false);
    await s.power.pushPending();
    expect(s.take()).toEqual({
      sent: [{ machineId: c.id, driver: 'ipmi', password: 'p' }],
      read: 3,
    });
    await s.power.pushPending(); // nothing waiting
    expect(s.take()).toEqual({ sent: [], read: 0 });
  });
});

describe('machines naming no rack', () => {
  it('are polled by the only rack, and no longer once a second rack enrolls', async () => {
    const { rack } = await t.f.enrollRack('rack-1');
    const m = await t.f.createMachine({ power: bmc('p') ?? undefined });
    const s = sessionFor(rack);
    await s.power.push();
    expect(s.take().sent).toEqual([{ machineId: m.id, driver: 'ipmi', password: 'p' }]);
    t.f.notifier.clear();
    await t.f.enrollRack('rack-2');
    await s.deliver();
    expect(s.take().sent).toEqual([{ machineId: m.id, driver: '' }]);
  });
});

describe('one machine changed among many', () => {
  it('reads that machine, not every machine stored', async () => {
    const { rack } = await t.f.enrollRack('rack-1');
    const many = 400;
    const machines: Machine[] = [];
    for (let i = 0; i < many; i++)
      machines.push(await t.f.createMachine({ power: bmc(`p${String(i)}`) ?? undefined }));
    const s = sessionFor(rack);
    await s.power.push();
    expect(s.take()).toMatchObject({ read: many });
    t.f.notifier.clear();

    const one = machines[123] ?? machines[0];
    if (one === undefined) throw new Error('no machines');
    valueOf(await t.f.machines.update(t.f.admin.actor, one.id, { power: bmc('new') }));
    const created = await t.f.createMachine({ power: bmc('created') ?? undefined });
    await s.deliver();
    expect(s.take()).toEqual({
      sent: byId([
        { machineId: one.id, driver: 'ipmi', password: 'new' },
        { machineId: created.id, driver: 'ipmi', password: 'created' },
      ]),
      read: 2,
    });
  }, 60_000);
});
