/**
 * Subnets and IP reservations (admins only). Every change is validated as a whole, stored, and
 * pushed to the racks in the same transaction (see `network-config.ts`).
 */
import { err, ok, type Clock, type Result } from '@ingot/common';
import type { DomainError } from '../domain/errors.ts';
import { normalizeMac } from '../domain/machine/machine.ts';
import { parseCidr, overlaps } from '../domain/network/ipv4.ts';
import {
  isReservable,
  validateSubnet,
  type DhcpMode,
  type IpRange,
  type Reservation,
  type Subnet,
} from '../domain/network/subnet.ts';
import type { Actor } from './actor.ts';
import { newAuditEvent } from './audit-event.ts';
import { uuid } from './ids.ts';
import { queueNetworkConfigForAll } from './network-config.ts';
import type { EventBus, RackNotifier, Store } from './ports.ts';

/** What an operator gives for a subnet. */
export interface SubnetInput {
  readonly cidr: string;
  readonly name?: string | undefined;
  readonly gateway?: string | null | undefined;
  readonly dnsServers?: readonly string[] | undefined;
  readonly dynamicRanges?: readonly IpRange[] | undefined;
  readonly leaseSeconds?: number | undefined;
  readonly domain?: string | undefined;
  readonly dhcpMode?: DhcpMode | undefined;
  readonly rackId?: string | null | undefined;
  readonly interface?: string | null | undefined;
}

/** Dependencies of {@link SubnetService}. */
export interface SubnetServiceDeps {
  readonly store: Store;
  readonly bus: EventBus;
  readonly racks: RackNotifier;
  readonly clock: Clock;
}

/** The subnet use cases. */
export class SubnetService {
  readonly #d: SubnetServiceDeps;

  constructor(deps: SubnetServiceDeps) {
    this.#d = deps;
  }

  /** Lists subnets (everyone may read the network layout). */
  async list(): Promise<Subnet[]> {
    return this.#d.store.listSubnets();
  }

  /** One subnet. */
  async get(id: string): Promise<Result<Subnet, DomainError>> {
    const subnet = await this.#d.store.getSubnet(id);
    return subnet === undefined ? err({ kind: 'not-found', entity: 'subnet', id }) : ok(subnet);
  }

  /** Creates a subnet. */
  async create(actor: Actor, input: SubnetInput): Promise<Result<Subnet, DomainError>> {
    const subnet: Subnet = {
      id: uuid(),
      cidr: input.cidr,
      name: input.name ?? input.cidr,
      gateway: input.gateway ?? null,
      dnsServers: input.dnsServers ?? [],
      dynamicRanges: input.dynamicRanges ?? [],
      leaseSeconds: input.leaseSeconds ?? 3600,
      domain: input.domain ?? 'maas',
      dhcpMode: input.dhcpMode ?? 'managed',
      rackId: input.rackId ?? null,
      interface: input.interface ?? null,
      createdAtMs: this.#d.clock.now(),
    };
    return this.#write(actor, 'subnet.create', `Created subnet ${subnet.cidr}`, async (tx) => {
      const problem = await this.#check(tx, subnet);
      if (problem !== undefined) return err(problem);
      await tx.insertSubnet(subnet);
      return ok(subnet);
    });
  }

  /** Changes a subnet; fields not given keep their value. */
  async update(
    actor: Actor,
    id: string,
    input: Partial<SubnetInput>,
  ): Promise<Result<Subnet, DomainError>> {
    return this.#write(actor, 'subnet.update', `Updated subnet ${id}`, async (tx) => {
      const current = await tx.getSubnet(id);
      if (current === undefined) return err({ kind: 'not-found', entity: 'subnet', id });
      const subnet: Subnet = {
        ...current,
        cidr: input.cidr ?? current.cidr,
        name: input.name ?? current.name,
        gateway: input.gateway === undefined ? current.gateway : input.gateway,
        dnsServers: input.dnsServers ?? current.dnsServers,
        dynamicRanges: input.dynamicRanges ?? current.dynamicRanges,
        leaseSeconds: input.leaseSeconds ?? current.leaseSeconds,
        domain: input.domain ?? current.domain,
        dhcpMode: input.dhcpMode ?? current.dhcpMode,
        rackId: input.rackId === undefined ? current.rackId : input.rackId,
        interface: input.interface === undefined ? current.interface : input.interface,
      };
      const problem = await this.#check(tx, subnet);
      if (problem !== undefined) return err(problem);
      for (const r of await tx.listReservations(id)) {
        if (!isReservable(subnet, r.ip)) {
          return err({
            kind: 'conflict',
            detail: `reservation ${r.ip} (${r.mac}) would fall outside the subnet or into a dynamic range`,
          });
        }
      }
      await tx.updateSubnet(subnet);
      return ok(subnet);
    });
  }

  /** Deletes a subnet and its reservations. */
  async delete(actor: Actor, id: string): Promise<Result<void, DomainError>> {
    return this.#write(actor, 'subnet.delete', `Deleted subnet ${id}`, async (tx) =>
      (await tx.deleteSubnet(id))
        ? ok(undefined)
        : err({ kind: 'not-found', entity: 'subnet', id }),
    );
  }

  /** Reserves `ip` for `mac` on a subnet. */
  async reserve(
    actor: Actor,
    subnetId: string,
    input: { mac: string; ip: string; hostname?: string | undefined },
  ): Promise<Result<Reservation, DomainError>> {
    const mac = normalizeMac(input.mac);
    if (mac === null)
      return err({ kind: 'invalid', field: 'mac', detail: `${input.mac} is not a MAC address` });
    return this.#write(
      actor,
      'reservation.create',
      `Reserved ${input.ip} for ${mac}`,
      async (tx) => {
        const subnet = await tx.getSubnet(subnetId);
        if (subnet === undefined) return err({ kind: 'not-found', entity: 'subnet', id: subnetId });
        if (!isReservable(subnet, input.ip)) {
          return err({
            kind: 'invalid',
            field: 'ip',
            detail: `${input.ip} is not a host address of ${subnet.cidr} outside its dynamic ranges and gateway`,
          });
        }
        if ((await tx.getReservationByMac(mac)) !== undefined)
          return err({ kind: 'conflict', detail: `${mac} already has a reservation` });
        if ((await tx.getReservationByIp(input.ip)) !== undefined)
          return err({ kind: 'conflict', detail: `${input.ip} is already reserved` });
        const reservation: Reservation = {
          mac,
          ip: input.ip,
          subnetId,
          hostname: input.hostname ?? null,
          createdAtMs: this.#d.clock.now(),
        };
        await tx.insertReservation(reservation);
        return ok(reservation);
      },
    );
  }

  /** Lists a subnet's reservations. */
  async reservations(subnetId: string): Promise<Result<Reservation[], DomainError>> {
    if ((await this.#d.store.getSubnet(subnetId)) === undefined)
      return err({ kind: 'not-found', entity: 'subnet', id: subnetId });
    return ok(await this.#d.store.listReservations(subnetId));
  }

  /** Removes the reservation of a MAC. */
  async unreserve(actor: Actor, subnetId: string, mac: string): Promise<Result<void, DomainError>> {
    const normalized = normalizeMac(mac) ?? mac;
    return this.#write(
      actor,
      'reservation.delete',
      `Removed the reservation of ${normalized}`,
      async (tx) => {
        const r = await tx.getReservationByMac(normalized);
        if (r === undefined || r.subnetId !== subnetId)
          return err({ kind: 'not-found', entity: 'reservation', id: normalized });
        await tx.deleteReservation(normalized);
        return ok(undefined);
      },
    );
  }

  /** Checks a subnet against itself, the other subnets and the racks. */
  async #check(tx: Store, subnet: Subnet): Promise<DomainError | undefined> {
    const problems = validateSubnet(subnet);
    const first = problems[0];
    if (first !== undefined)
      return {
        kind: 'invalid',
        field: first.field,
        detail: problems.map((p) => p.detail).join('; '),
      };
    const cidr = parseCidr(subnet.cidr);
    for (const other of await tx.listSubnets()) {
      const otherCidr = parseCidr(other.cidr);
      if (
        other.id !== subnet.id &&
        cidr !== null &&
        otherCidr !== null &&
        overlaps(cidr, otherCidr)
      ) {
        return { kind: 'conflict', detail: `${subnet.cidr} overlaps subnet ${other.cidr}` };
      }
    }
    if (subnet.rackId !== null && (await tx.getRack(subnet.rackId)) === undefined) {
      return { kind: 'invalid', field: 'rack', detail: `no rack with id ${subnet.rackId}` };
    }
    return undefined;
  }

  /** Admin check, then `work`, an audit event and the network config push in one transaction. */
  async #write<T>(
    actor: Actor,
    step: string,
    message: string,
    work: (tx: Store) => Promise<Result<T, DomainError>>,
  ): Promise<Result<T, DomainError>> {
    if (actor.kind === 'user' && actor.user.role !== 'admin') {
      return err({ kind: 'forbidden', detail: 'changing the network needs the admin role' });
    }
    const now = this.#d.clock.now();
    const outcome = await this.#d.store.transaction(async (tx) => {
      const result = await work(tx);
      if (!result.ok) return { result, racks: [] as string[], events: [] };
      const racks = await queueNetworkConfigForAll(tx, now);
      const event = newAuditEvent(actor, step, message, now);
      return { result, racks, events: await tx.appendEvents([event], now) };
    });
    this.#d.bus.publish(outcome.events);
    for (const rack of outcome.racks) this.#d.racks.commandsQueued(rack);
    return outcome.result;
  }
}
