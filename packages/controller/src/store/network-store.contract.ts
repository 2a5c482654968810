/**
 * The network part of the `Store` contract: subnets (one per CIDR) and IP reservations (one per
 * MAC and one per address), which go with their subnet.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { Reservation, Subnet } from '../domain/network/subnet.ts';
import { describeStoreContract, T0, type OpenStore } from './store-contract-fixtures.ts';

function newSubnet(overrides: Partial<Subnet> = {}): Subnet {
  return {
    id: 'subnet-1',
    cidr: '10.1.0.0/24',
    name: 'lan',
    gateway: '10.1.0.1',
    dnsServers: ['10.1.0.1', '9.9.9.9'],
    dynamicRanges: [{ start: '10.1.0.100', end: '10.1.0.199' }],
    leaseSeconds: 600,
    domain: 'maas',
    dhcpMode: 'managed',
    rackId: 'rack-1',
    interface: 'eth1',
    createdAtMs: T0,
    ...overrides,
  };
}

function newReservation(overrides: Partial<Reservation> = {}): Reservation {
  return {
    mac: '02:00:00:00:01:01',
    ip: '10.1.0.20',
    subnetId: 'subnet-1',
    hostname: 'node-1',
    createdAtMs: T0,
    ...overrides,
  };
}

/** Registers this part of the `Store` contract for the store `open` returns. */
export function describeNetworkStoreContract(name: string, open: OpenStore): void {
  describeStoreContract(name, open, (store) => {
    describe('subnets', () => {
      it('round-trips every field, and lists by CIDR', async () => {
        const lan = newSubnet({ id: 's2', cidr: '10.2.0.0/24' });
        const bare = newSubnet({
          id: 's1',
          cidr: '10.1.0.0/24',
          name: '10.1.0.0/24',
          gateway: null,
          dnsServers: [],
          dynamicRanges: [],
          dhcpMode: 'none',
          rackId: null,
          interface: null,
        });
        await store().insertSubnet(lan);
        await store().insertSubnet(bare);
        expect(await store().getSubnet('s2')).toEqual(lan);
        expect(await store().getSubnet('s1')).toEqual(bare);
        expect(await store().getSubnet('s3')).toBeUndefined();
        expect(await store().listSubnets()).toEqual([bare, lan]);
      });

      it('refuses a second subnet with the same CIDR', async () => {
        await store().insertSubnet(newSubnet({ id: 's1' }));
        await expect(
          store().insertSubnet(newSubnet({ id: 's2', name: 'other' })),
        ).rejects.toThrow();
        expect((await store().listSubnets()).map((s) => s.id)).toEqual(['s1']);
      });

      it('replaces every field but the id and creation time on update', async () => {
        const before = newSubnet();
        await store().insertSubnet(before);
        const after = newSubnet({
          cidr: '10.9.0.0/16',
          name: 'dmz',
          gateway: null,
          dnsServers: ['1.1.1.1'],
          dynamicRanges: [{ start: '10.9.1.0', end: '10.9.1.255' }],
          leaseSeconds: 3_600,
          domain: 'example',
          dhcpMode: 'proxy',
          rackId: null,
          interface: null,
        });
        expect(await store().updateSubnet(after)).toBe(true);
        expect(await store().getSubnet(before.id)).toEqual(after);
        expect(await store().updateSubnet(newSubnet({ id: 'nope', cidr: '10.8.0.0/24' }))).toBe(
          false,
        );
        expect(await store().listSubnets()).toEqual([after]);
      });

      it('deletes a subnet and its reservations, once', async () => {
        await store().insertSubnet(newSubnet({ id: 's1' }));
        await store().insertSubnet(newSubnet({ id: 's2', cidr: '10.2.0.0/24' }));
        await store().insertReservation(newReservation({ subnetId: 's1' }));
        const kept = newReservation({ mac: '02:00:00:00:02:01', ip: '10.2.0.5', subnetId: 's2' });
        await store().insertReservation(kept);
        expect(await store().deleteSubnet('s1')).toBe(true);
        expect(await store().deleteSubnet('s1')).toBe(false);
        expect(await store().getSubnet('s1')).toBeUndefined();
        expect(await store().listReservations()).toEqual([kept]);
      });
    });

    describe('reservations', () => {
      beforeEach(async () => {
        await store().insertSubnet(newSubnet({ id: 's1' }));
        await store().insertSubnet(newSubnet({ id: 's2', cidr: '10.2.0.0/24' }));
      });

      it('finds a reservation by MAC and by address, and lists by address', async () => {
        const a = newReservation({ mac: '02:00:00:00:01:0a', ip: '10.1.0.30', subnetId: 's1' });
        const b = newReservation({
          mac: '02:00:00:00:01:0b',
          ip: '10.1.0.20',
          subnetId: 's1',
          hostname: null,
        });
        const c = newReservation({ mac: '02:00:00:00:02:0c', ip: '10.2.0.10', subnetId: 's2' });
        for (const r of [a, b, c]) await store().insertReservation(r);
        expect(await store().getReservationByMac(a.mac)).toEqual(a);
        expect(await store().getReservationByIp('10.1.0.20')).toEqual(b);
        expect(await store().getReservationByMac('02:00:00:00:09:09')).toBeUndefined();
        expect(await store().getReservationByIp('10.1.0.99')).toBeUndefined();
        expect(await store().listReservations()).toEqual([b, a, c]);
        expect(await store().listReservations('s1')).toEqual([b, a]);
        expect(await store().listReservations('s2')).toEqual([c]);
        expect(await store().listReservations('s3')).toEqual([]);
      });

      it.each([
        ['the same MAC', { ip: '10.1.0.21' }],
        ['the same address', { mac: '02:00:00:00:01:02' }],
      ])('refuses a second reservation with %s', async (_, clash) => {
        const first = newReservation({ subnetId: 's1' });
        await store().insertReservation(first);
        await expect(
          store().insertReservation(newReservation({ subnetId: 's1', ...clash })),
        ).rejects.toThrow();
        expect(await store().listReservations()).toEqual([first]);
      });

      it('deletes a reservation by MAC, once', async () => {
        const r = newReservation({ subnetId: 's1' });
        await store().insertReservation(r);
        expect(await store().deleteReservation(r.mac)).toBe(true);
        expect(await store().deleteReservation(r.mac)).toBe(false);
        expect(await store().getReservationByIp(r.ip)).toBeUndefined();
        expect(await store().listReservations()).toEqual([]);
      });
    });
  });
}
