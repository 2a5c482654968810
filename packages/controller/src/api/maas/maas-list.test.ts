import { describe, expect, it, vi } from 'vitest';
import type { NewEvent } from '../../domain/event.ts';
import { newEvent, readJson } from '../../testing/index.ts';
import { useMachineApiScenario } from '../../testing/use-machine-api-scenario.ts';
import { maasRequest } from './maas-test-client.ts';

const s = useMachineApiScenario({ maxBodyBytes: 65_536 });

interface Shaped {
  system_id: string;
  hostname: string;
  ip_addresses: string[];
  blockdevice_set: { name: string }[];
  [k: string]: unknown;
}

const get = (path: string): Promise<Response> =>
  maasRequest(s.api, 'GET', path, { key: s.f.admin.apiKey });

const ack = (machineId: string, ip: string | undefined): NewEvent =>
  newEvent({
    kind: 'step',
    machineId,
    step: 'dhcp.ack',
    data: ip === undefined ? { note: 'no address' } : { ip, subnet: '172.31.6.0/24' },
  });

describe('machines/ (list)', () => {
  it('reads hardware and leases once per list, and shapes each machine as when read alone', async () => {
    const subnet = await s.f.subnets.create(s.f.admin.actor, { cidr: '172.31.6.0/24' });
    expect(subnet.ok).toBe(true);
    const second = await s.f.allocatedMachine(s.alice, { hostname: 'alice-2' });
    for (let i = 0; i < 4; i++) await s.f.createMachine({ hostname: `spare-${String(i)}` });
    await s.f.store.putMachineHardware({
      machineId: s.ready.id,
      disks: [{ name: 'sda', sizeBytes: 500e9, model: 'QEMU HARDDISK', serial: 'QM0001' }],
      nics: [{ name: 'ens3', mac: s.ready.macs[0] ?? '' }],
      recordedAtMs: s.f.clock.now(),
    });
    await s.f.store.appendEvents(
      [
        ack(s.mine.id, '172.31.6.40'),
        ack(second.id, '172.31.6.50'),
        ack(s.mine.id, '172.31.6.41'),
        ack(second.id, '172.31.6.51'),
        // A later ack without an address does not hide the last one that had one.
        ack(second.id, undefined),
      ],
      s.f.clock.now(),
    );
    for (const id of [s.mine.id, second.id]) {
      const deployed = await maasRequest(s.api, 'POST', `machines/${id}/?op=deploy`, {
        key: s.alice.apiKey,
        form: [['distro_series', 'bookworm']],
      });
      expect(deployed.status).toBe(200);
    }

    const reads = [vi.spyOn(s.f.store, 'getMachineHardware'), vi.spyOn(s.f.store, 'listEvents')];
    const res = await get('machines/');
    expect(res.status).toBe(200);
    const list = await readJson<Shaped[]>(res);
    const storeReads = reads.reduce((n, spy) => n + spy.mock.calls.length, 0);
    for (const spy of reads) spy.mockRestore();

    expect(list).toHaveLength(8);
    // Hardware and leases for all eight machines took a fixed number of store reads.
    expect(storeReads).toBeLessThanOrEqual(2);
    const byName = new Map(list.map((m) => [m.hostname, m]));
    expect(byName.get('alice-1')?.ip_addresses).toEqual(['172.31.6.41']);
    expect(byName.get('alice-2')?.ip_addresses).toEqual(['172.31.6.51']);
    expect(byName.get('ready-1')?.ip_addresses).toEqual([]);
    expect(byName.get('ready-1')?.blockdevice_set.map((d) => d.name)).toEqual(['sda']);
    for (const m of list) {
      const alone = await readJson<Shaped>(await get(`machines/${m.system_id}/`));
      expect(m).toEqual(alone);
    }
  });
});
