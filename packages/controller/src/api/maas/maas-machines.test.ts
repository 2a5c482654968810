import { describe, expect, it } from 'vitest';
import type { NewEvent } from '../../domain/event.ts';
import { newEvent, readJson } from '../../testing/index.ts';
import { useMachineApiScenario } from '../../testing/use-machine-api-scenario.ts';
import * as schema from './client-schema.ts';
import { maasRequest } from './maas-test-client.ts';

const s = useMachineApiScenario({ maxBodyBytes: 65_536 });

interface Shaped {
  system_id: string;
  hostname: string;
  status: number;
  status_name: string;
  owner: string | null;
  blockdevice_set: { id: number; name: string; size: number }[];
  interface_set: { mac_address: string; links: { ip_address?: string }[] }[];
  constraints_by_type: { storage?: Record<string, number[]> };
  ip_addresses: string[];
  [k: string]: unknown;
}

const get = (path: string, key = s.alice.apiKey): Promise<Response> =>
  maasRequest(s.api, 'GET', path, { key });
const post = (
  path: string,
  form: [string, string][] = [],
  key = s.alice.apiKey,
  multipart = false,
): Promise<Response> => maasRequest(s.api, 'POST', path, { key, form, multipart });

async function hostnames(path: string, key = s.alice.apiKey): Promise<string[]> {
  const res = await get(path, key);
  expect(res.status).toBe(200);
  const list = await readJson<Shaped[]>(res);
  expect(schema.list(schema.machine)(list, path)).toEqual([]);
  return list.map((m) => m.hostname).sort();
}

describe('machines/ (read)', () => {
  it('lists what the caller may see, every machine in gomaasapi’s shape', async () => {
    expect(await hostnames('machines/')).toEqual(['alice-1', 'alice-locked', 'ready-1']);
    expect(await hostnames('machines/', s.bob.apiKey)).toEqual(['ready-1']);
    expect(await hostnames('machines', s.f.admin.apiKey)).toEqual([
      'alice-1',
      'alice-locked',
      'ready-1',
    ]);
  });

  it('honours repeated id= and MAAS’s other filters', async () => {
    const ids = `id=${s.mine.id}&id=${s.ready.id}`;
    expect(await hostnames(`machines/?${ids}`)).toEqual(['alice-1', 'ready-1']);
    expect(await hostnames(`machines/?hostname=ready-1&hostname=alice-1.maas`)).toEqual([
      'alice-1',
      'ready-1',
    ]);
    expect(await hostnames('machines/?status=allocated')).toEqual(['alice-1', 'alice-locked']);
    expect(await hostnames('machines/?status=ready&zone=default&pool=default')).toEqual([
      'ready-1',
    ]);
    expect(await hostnames('machines/?zone=elsewhere')).toEqual([]);
    expect(await hostnames(`machines/?mac_address=${s.ready.macs[0] ?? ''}`)).toEqual(['ready-1']);
  });

  it('reads one machine: MAAS’s status, types, disks and NICs from commissioning', async () => {
    await s.f.store.putMachineHardware({
      machineId: s.mine.id,
      disks: [
        { name: 'sda', sizeBytes: 500e9, model: 'QEMU HARDDISK', serial: 'QM0001' },
        { name: 'sdb', sizeBytes: 2e12, model: '', serial: '' },
      ],
      nics: [
        { name: 'ens3', mac: s.mine.macs[0] ?? '' },
        { name: 'ens4', mac: '52:54:00:00:99:01' },
      ],
      recordedAtMs: s.f.clock.now(),
    });
    const subnet = await s.f.subnets.create(s.f.admin.actor, {
      cidr: '172.31.5.0/24',
      rackId: s.rack.id,
      dynamicRanges: [{ start: '172.31.5.100', end: '172.31.5.200' }],
    });
    if (!subnet.ok) throw new Error(subnet.error.kind);
    const reserved = await s.f.subnets.reserve(s.f.admin.actor, subnet.value.id, {
      mac: s.mine.macs[0] ?? '',
      ip: '172.31.5.10',
    });
    expect(reserved.ok).toBe(true);

    const res = await get(`machines/${s.mine.id}/`);
    expect(res.status).toBe(200);
    const m = await readJson<Shaped>(res);
    expect(schema.machine(m, 'machine')).toEqual([]);
    expect(m).toMatchObject({
      system_id: s.mine.id,
      hostname: 'alice-1',
      fqdn: 'alice-1.maas',
      status: 10,
      status_name: 'Allocated',
      owner: 'alice',
      architecture: 'amd64/generic',
      cpu_count: 4,
      memory: 8192,
      osystem: '',
      distro_series: '',
      owner_data: {},
      ip_addresses: ['172.31.5.10'],
      resource_uri: `/MAAS/api/2.0/machines/${s.mine.id}/`,
    });
    expect(m.blockdevice_set.map((d) => [d.name, d.size])).toEqual([
      ['sda', 500e9],
      ['sdb', 2e12],
    ]);
    expect(m.interface_set.map((i) => i.mac_address)).toEqual([
      s.mine.macs[0],
      '52:54:00:00:99:01',
    ]);
    expect(m.interface_set[0]?.links[0]?.ip_address).toBe('172.31.5.10');
    expect(m.boot_interface).toEqual(m.interface_set[0]);
  });

  it('shows the address of the last DHCP lease while the machine runs an OS', async () => {
    const subnet = await s.f.subnets.create(s.f.admin.actor, {
      cidr: '172.31.6.0/24',
      name: 'prov',
    });
    expect(subnet.ok).toBe(true);
    const ack = (ip: string): NewEvent =>
      newEvent({
        kind: 'step',
        machineId: s.mine.id,
        step: 'dhcp.ack',
        data: { ip, subnet: '172.31.6.0/24', clientArch: 0, bootFile: '' },
      });
    await s.f.store.appendEvents([ack('172.31.6.40'), ack('172.31.6.41')], s.f.clock.now());
    const read = async (): Promise<Shaped> => {
      const m = await readJson<Shaped>(await get(`machines/${s.mine.id}/`));
      expect(schema.machine(m, 'machine')).toEqual([]);
      return m;
    };
    // Allocated: no OS runs, so no address is claimed.
    expect((await read()).ip_addresses).toEqual([]);
    const deployed = await post(`machines/${s.mine.id}/?op=deploy`, [
      ['distro_series', 'bookworm'],
    ]);
    expect(deployed.status).toBe(200);
    const m = await read();
    expect(m.ip_addresses).toEqual(['172.31.6.41']);
    expect(m.interface_set[0]?.links[0]).toMatchObject({
      mode: 'dhcp',
      ip_address: '172.31.6.41',
      subnet: { cidr: '172.31.6.0/24' },
    });
  });

  it('a machine the caller may not see, or none, is 404', async () => {
    expect((await get(`machines/${s.mine.id}/`, s.bob.apiKey)).status).toBe(404);
    expect((await get('machines/nosuch/')).status).toBe(404);
  });
});

describe('machines/?op=allocate', () => {
  it('allocates by MAAS constraints, answering the machine and constraints_by_type', async () => {
    const other = await s.f.createMachine({ hostname: 'small', cpuCount: 2, memoryMib: 2048 });
    const res = await post('machines/?op=allocate', [
      ['arch', 'amd64/generic'],
      ['cpu_count', '4.0'],
      ['mem', '4096'],
      ['storage', 'root:50'],
      ['agent_name', 'juju-model-uuid'],
    ]);
    expect(res.status).toBe(200);
    const m = await readJson<Shaped>(res);
    expect(schema.allocated(m, 'allocate')).toEqual([]);
    expect(m).toMatchObject({ system_id: s.ready.id, status_name: 'Allocated', owner: 'alice' });
    // The storage label names a block device the machine object carries.
    const root = m.constraints_by_type.storage?.root?.[0];
    expect(m.blockdevice_set.map((d) => d.id)).toContain(root);
    expect((await s.f.store.getMachine(other.id))?.status).toBe('ready');
  });

  it('honours tags given comma-separated or repeated (all-of), and not_tags', async () => {
    const a = await s.f.createMachine({ hostname: 'tag-a', tags: ['gpu', 'ssd'] });
    await s.f.createMachine({ hostname: 'tag-b', tags: ['nvme'] });
    // Repeated keys are all-of: no machine has both gpu and nvme.
    const none = await post('machines/?op=allocate', [
      ['tags', 'gpu'],
      ['tags', 'nvme'],
    ]);
    expect(none.status).toBe(409);
    const excluded = await post('machines/?op=allocate', [
      ['tags', 'gpu,ssd'],
      ['not_tags', 'ssd'],
    ]);
    expect(excluded.status).toBe(409);
    const res = await post('machines/?op=allocate', [
      ['tags', 'gpu,ssd'],
      ['not_tags', 'fpga'],
    ]);
    expect((await readJson<Shaped>(res)).system_id).toBe(a.id);
  });

  it('honours zone, not_in_zone and not_in_pool (repeated) in the one allocation rule', async () => {
    await s.f.machines.update(s.f.admin.actor, s.ready.id, { zone: 'z1', pool: 'p1' });
    const z2 = await s.f.createMachine({ hostname: 'z2', zone: 'z2', pool: 'p2' });
    const z3 = await s.f.createMachine({ hostname: 'z3', zone: 'z3', pool: 'p1' });
    const pick = async (form: [string, string][]): Promise<string | number> => {
      const res = await post('machines/?op=allocate', [...form, ['dry_run', 'true']]);
      return res.status === 200 ? (await readJson<Shaped>(res)).hostname : res.status;
    };
    expect(await pick([['zone', 'z2']])).toBe('z2');
    expect(
      await pick([
        ['not_in_zone', 'z1'],
        ['not_in_zone', 'z2'],
      ]),
    ).toBe('z3');
    expect(await pick([['not_in_pool', 'p1']])).toBe('z2');
    expect(
      await pick([
        ['not_in_pool', 'p1'],
        ['not_in_zone', 'z2'],
      ]),
    ).toBe(409);
    // dry_run allocated nothing.
    for (const id of [s.ready.id, z2.id, z3.id]) {
      expect((await s.f.store.getMachine(id))?.status).toBe('ready');
    }
  });

  it('name (or its FQDN) and system_id pick one machine; multipart bodies work', async () => {
    const byName = await post(
      'machines/?op=allocate',
      [['name', 'ready-1.maas']],
      s.bob.apiKey,
      true,
    );
    expect(byName.status).toBe(200);
    expect(await readJson(byName)).toMatchObject({ system_id: s.ready.id, owner: 'bob' });
    const again = await post('machines/?op=allocate', [['system_id', s.ready.id]]);
    expect(again.status).toBe(409);
    expect(await again.text()).toMatch(/No machine available/);
  });

  it('refuses what it cannot honour with 400 naming it', async () => {
    const cases: [string, string][][] = [
      [['interfaces', 'eth0:space=dmz']],
      [['arch', 'vax']],
      [['cpu_count', 'many']],
      [['storage', 'root:20(ssd)']],
      [['dry_run', 'perhaps']],
    ];
    for (const form of cases) {
      const res = await post('machines/?op=allocate', form);
      expect(res.status).toBe(400);
      expect(await res.text()).toContain(form[0]?.[0]);
    }
    expect((await s.f.store.getMachine(s.ready.id))?.status).toBe('ready');
  });
});
