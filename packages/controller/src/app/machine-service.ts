/**
 * Machine use cases: create, read, change, allocate, and drive through the lifecycle. Every
 * method checks who may do it, runs one transaction, and publishes the events it wrote after the
 * commit. Failures are `DomainError` values.
 */
import { err, ok, type Clock, type Result } from '@ingot/common';
import type { DomainError } from '../domain/errors.ts';
import type { EventRecord, NewEvent } from '../domain/event.ts';
import { transition, type MachineAction } from '../domain/machine/lifecycle.ts';
import type {
  AllocationConstraints,
  DeploymentChoice,
  EraseMode,
  Machine,
} from '../domain/machine/machine.ts';
import { isValidHostname } from '../domain/machine/machine.ts';
import { mayActOn, maySee } from '../domain/user.ts';
import { actorName, type Actor } from './actor.ts';
import { auditEvent } from './audit-event.ts';
import { shortId, uuid } from './ids.ts';
import type { EventBus, MachineFilter, RackNotifier, Store } from './ports.ts';
import {
  resolveRack,
  runTransition,
  type StatusTimeouts,
  type TransitionInput,
} from './transition-runner.ts';
import { requireAdmin } from './require-admin.ts';
import type { CreateMachineInput, DeployInput, UpdateMachineInput } from './machine-inputs.ts';
import { retryMachineWrite } from './retry-machine-write.ts';
import { previewAllocation } from './allocation-preview.ts';
import type { SecretBox } from './secret-box.ts';
import { sealPowerConfig, sealStoredPowerParams } from './power-sealing.ts';

export type { CreateMachineInput, DeployInput, UpdateMachineInput } from './machine-inputs.ts';

/** Dependencies of {@link MachineService}. */
export interface MachineServiceDeps {
  readonly store: Store;
  readonly bus: EventBus;
  readonly racks: RackNotifier;
  readonly clock: Clock;
  readonly timeouts: StatusTimeouts;
  /**
   * Seals power parameters (BMC passwords) before they are stored; they stay sealed in the
   * machine row and in queued rack commands, and only `rpc/convert.ts` opens them.
   */
  readonly secrets: SecretBox;
}

/** The machine use cases. */
export class MachineService {
  readonly #d: MachineServiceDeps;

  constructor(deps: MachineServiceDeps) {
    this.#d = deps;
  }

  /** Creates a machine (admins only). */
  async create(actor: Actor, input: CreateMachineInput): Promise<Result<Machine, DomainError>> {
    const denied = requireAdmin(actor);
    if (denied !== undefined) return err(denied);
    const { store, clock } = this.#d;
    for (const mac of input.macs) {
      const other = await store.getMachineByMac(mac);
      if (other !== undefined) {
        return err({
          kind: 'conflict',
          detail: `MAC ${mac} already belongs to machine ${other.id} (${other.hostname})`,
        });
      }
    }
    if (input.rackId !== undefined && (await store.getRack(input.rackId)) === undefined) {
      return err({ kind: 'invalid', field: 'rack', detail: `no rack with id ${input.rackId}` });
    }
    if (input.hostname !== undefined && !isValidHostname(input.hostname)) {
      return err({
        kind: 'invalid',
        field: 'hostname',
        detail: `${input.hostname} is not a valid host name (RFC 1123)`,
      });
    }
    const id = await this.#freeId();
    const hostname = input.hostname ?? `machine-${id}`;
    if ((await store.getMachineByHostname(hostname)) !== undefined) {
      return err({ kind: 'conflict', detail: `a machine named ${hostname} already exists` });
    }
    const now = clock.now();
    const machine: Machine = {
      id,
      hostname,
      status: input.commission ? 'new' : 'ready',
      arch: input.arch,
      cpuCount: input.cpuCount ?? 0,
      memoryMib: input.memoryMib ?? 0,
      storageGib: input.storageGib ?? 0,
      macs: input.macs,
      tags: input.tags ?? [],
      zone: input.zone ?? 'default',
      pool: input.pool ?? 'default',
      ownerId: null,
      locked: false,
      rackId: input.rackId ?? null,
      power: sealPowerConfig(this.#d.secrets, input.power) ?? null,
      powerState: 'unknown',
      powerSeenAtMs: null,
      deployment: null,
      statusMessage: input.commission
        ? 'Enlisted'
        : 'Created ready: facts supplied by the operator',
      statusDeadlineMs: null,
      lastStep: null,
      bootPurpose: null,
      version: 1,
      createdAtMs: now,
      updatedAtMs: now,
    };
    const event: NewEvent = {
      id: uuid(),
      kind: 'transition',
      machineId: id,
      rackId: machine.rackId,
      step: 'create',
      result: 'succeeded',
      fromStatus: null,
      toStatus: machine.status,
      actor: actorName(actor),
      message: machine.statusMessage,
      data: {},
      occurredAtMs: now,
    };
    const stored = await store.transaction(async (tx) => {
      await tx.insertMachine(machine);
      return tx.appendEvents([event], now);
    });
    this.#d.bus.publish(stored);
    if (input.power !== undefined) await this.#powerConfigsChanged(id);
    if (input.commission && input.power !== undefined) {
      const commissioned = await this.act(actor, id, 'commission', {
        message: 'Commissioning after creation',
      });
      if (commissioned.ok) return commissioned;
    }
    return ok((await store.getMachine(id)) ?? machine);
  }

  async #freeId(): Promise<string> {
    for (;;) {
      const id = shortId();
      if ((await this.#d.store.getMachine(id)) === undefined) return id;
    }
  }

  /** Lists the machines `actor` may see. */
  async list(actor: Actor, filter: Omit<MachineFilter, 'visibleTo'> = {}): Promise<Machine[]> {
    const visibleTo =
      actor.kind === 'user' && actor.user.role !== 'admin' ? actor.user.id : undefined;
    return this.#d.store.listMachines({ ...filter, visibleTo });
  }

  /** One machine, if `actor` may see it (otherwise `not-found`: do not reveal others' machines). */
  async get(actor: Actor, id: string): Promise<Result<Machine, DomainError>> {
    const machine = await this.#d.store.getMachine(id);
    if (machine === undefined || (actor.kind === 'user' && !maySee(actor.user, machine.ownerId))) {
      return err({ kind: 'not-found', entity: 'machine', id });
    }
    return ok(machine);
  }

  /** Operator edits. Admins only; a locked machine refuses them. */
  async update(
    actor: Actor,
    id: string,
    input: UpdateMachineInput,
  ): Promise<Result<Machine, DomainError>> {
    const denied = requireAdmin(actor);
    if (denied !== undefined) return err(denied);
    if (input.hostname !== undefined && !isValidHostname(input.hostname)) {
      return err({
        kind: 'invalid',
        field: 'hostname',
        detail: `${input.hostname} is not a valid host name (RFC 1123)`,
      });
    }
    const updated = await retryMachineWrite(this.#d, id, actor, async (machine, tx, now) => {
      if (machine.locked) return err({ kind: 'locked', machineId: id, action: 'mark_fixed' });
      // As on create: commands for a rack that does not exist would never be delivered.
      if (typeof input.rackId === 'string' && (await tx.getRack(input.rackId)) === undefined) {
        return err({ kind: 'invalid', field: 'rack', detail: `no rack with id ${input.rackId}` });
      }
      if (input.hostname !== undefined && input.hostname !== machine.hostname) {
        const other = await tx.getMachineByHostname(input.hostname);
        if (other !== undefined)
          return err({
            kind: 'conflict',
            detail: `a machine named ${input.hostname} already exists`,
          });
      }
      for (const mac of input.macs ?? []) {
        const other = await tx.getMachineByMac(mac);
        if (other !== undefined && other.id !== id) {
          return err({
            kind: 'conflict',
            detail: `MAC ${mac} already belongs to machine ${other.id}`,
          });
        }
      }
      const updated = await tx.updateMachine(
        id,
        machine.version,
        input.power === undefined
          ? input
          : { ...input, power: sealPowerConfig(this.#d.secrets, input.power) },
        now,
      );
      if (updated === undefined) return err({ kind: 'stale', machineId: id });
      // The API passes every optional field, most of them undefined: name only those given.
      const given = Object.keys(input) as (keyof UpdateMachineInput)[];
      const changed = given.filter((k) => input[k] !== undefined).sort();
      return ok({
        machine: updated,
        events: [auditEvent(actor, updated, 'update', `Updated ${changed.join(', ')}`, now)],
        racksToNotify: [],
      });
    });
    if (updated.ok && (input.power !== undefined || input.rackId !== undefined)) {
      await this.#powerConfigsChanged(id);
    }
    return updated;
  }

  /** Tells every rack to resend machine `id`'s BMC access (or stop polling it). */
  async #powerConfigsChanged(id: string): Promise<void> {
    for (const rack of await this.#d.store.listRacks())
      this.#d.racks.powerConfigsChanged(rack.id, [id]);
  }

  /** Deletes a machine (admins only; not while it is busy or locked). */
  async delete(actor: Actor, id: string): Promise<Result<void, DomainError>> {
    const denied = requireAdmin(actor);
    if (denied !== undefined) return err(denied);
    const now = this.#d.clock.now();
    // Check and delete in one transaction, so a deploy that starts in between cannot be deleted.
    const result = await this.#d.store.transaction(
      async (tx): Promise<Result<EventRecord[], DomainError>> => {
        const machine = await tx.getMachine(id);
        if (machine === undefined) return err({ kind: 'not-found', entity: 'machine', id });
        if (machine.locked) return err({ kind: 'locked', machineId: id, action: 'mark_broken' });
        if (
          machine.status === 'deploying' ||
          machine.status === 'commissioning' ||
          machine.status === 'releasing'
        ) {
          return err({
            kind: 'conflict',
            detail: `machine ${id} is ${machine.status}; abort or wait before deleting it`,
          });
        }
        await tx.deleteMachine(id);
        const event = auditEvent(actor, machine, 'delete', `Deleted ${machine.hostname}`, now);
        return ok(await tx.appendEvents([event], now));
      },
    );
    if (!result.ok) return result;
    this.#d.bus.publish(result.value);
    await this.#powerConfigsChanged(id);
    return ok(undefined);
  }

  /**
   * Allocates one `ready` machine matching `constraints` to the actor. Atomic in the store: two
   * concurrent calls never get the same machine. `no-match` when nothing fits.
   */
  async allocate(
    actor: Actor,
    constraints: AllocationConstraints,
  ): Promise<Result<Machine, DomainError>> {
    if (actor.kind !== 'user')
      return err({ kind: 'forbidden', detail: 'only users allocate machines' });
    const to = transition('ready', 'allocate');
    if (!to.ok) throw new Error('lifecycle table lost ready → allocate');
    const now = this.#d.clock.now();
    const result = await this.#d.store.transaction(async (tx) => {
      const machine = await tx.allocateMachine(constraints, actor.user.id, now, to.value.to);
      if (machine === undefined) return undefined;
      const event: NewEvent = {
        id: uuid(),
        kind: 'transition',
        machineId: machine.id,
        rackId: machine.rackId,
        step: 'allocate',
        result: 'succeeded',
        fromStatus: 'ready',
        toStatus: machine.status,
        actor: actorName(actor),
        message: `Allocated to ${actor.user.username}`,
        data: { constraints: { ...constraints } },
        occurredAtMs: now,
      };
      return { machine, events: await tx.appendEvents([event], now) };
    });
    if (result === undefined) {
      return err({
        kind: 'no-match',
        detail: `no ready machine matches ${JSON.stringify(constraints)}`,
      });
    }
    this.#d.bus.publish(result.events);
    return ok(result.machine);
  }

  /** What {@link allocate} would pick now, without allocating it (MAAS's `dry_run`). */
  async previewAllocation(
    actor: Actor,
    constraints: AllocationConstraints,
  ): Promise<Result<Machine, DomainError>> {
    return previewAllocation(this.#d.store, actor, constraints, this.#d.clock.now());
  }

  /** Deploys an allocated machine the actor owns. */
  async deploy(
    actor: Actor,
    id: string,
    input: DeployInput,
  ): Promise<Result<Machine, DomainError>> {
    const deployment: DeploymentChoice = {
      os: input.os,
      release: input.release,
      kernel: input.kernel ?? null,
      userData: input.userData ?? null,
      ephemeral: input.ephemeral ?? false,
      customisation: input.customisation,
    };
    return this.act(actor, id, 'deploy', {
      message: `Deploying ${input.os} ${input.release}${deployment.ephemeral ? ' in memory' : ''}`,
      deployment,
      data: {
        os: input.os,
        release: input.release,
        kernel: deployment.kernel,
        ephemeral: deployment.ephemeral,
      },
    });
  }

  /**
   * Runs an operator action (commission, release, abort, mark_broken, mark_fixed, deploy) after
   * checking the actor may act on the machine.
   */
  async act(
    actor: Actor,
    id: string,
    action: MachineAction,
    extra: Omit<TransitionInput, 'action' | 'actor'>,
  ): Promise<Result<Machine, DomainError>> {
    const adminOnly: readonly MachineAction[] = ['commission', 'mark_fixed'];
    if (actor.kind === 'user' && adminOnly.includes(action) && actor.user.role !== 'admin') {
      return err({
        kind: 'forbidden',
        detail: `only admins may ${action.replace('_', ' ')} machines`,
      });
    }
    return retryMachineWrite(this.#d, id, actor, async (machine, tx, now) => {
      if (actor.kind === 'user' && !mayActOn(actor.user, machine.ownerId)) {
        return err({ kind: 'forbidden', detail: `machine ${id} is not allocated to you` });
      }
      return runTransition(
        tx,
        machine,
        { ...extra, action, actor },
        now,
        this.#d.timeouts,
        this.#d.secrets,
      );
    });
  }

  /**
   * Releases a machine; with `erase` the machine first boots the ephemeral environment, which
   * wipes its disks (`quick`: partition tables and signatures, `full`: every byte) and reports.
   */
  async release(
    actor: Actor,
    id: string,
    input: { readonly comment?: string | undefined; readonly erase?: EraseMode | undefined },
  ): Promise<Result<Machine, DomainError>> {
    const comment = input.comment === undefined || input.comment === '' ? '' : `: ${input.comment}`;
    if (input.erase === undefined) {
      return this.act(actor, id, 'release', { message: `Released${comment}` });
    }
    const erase = input.erase;
    return retryMachineWrite(this.#d, id, actor, async (machine, tx, now) => {
      if (actor.kind === 'user' && !mayActOn(actor.user, machine.ownerId)) {
        return err({ kind: 'forbidden', detail: `machine ${id} is not allocated to you` });
      }
      const base = machine.deployment ?? {
        os: '',
        release: '',
        kernel: null,
        userData: null,
        ephemeral: false,
      };
      return runTransition(
        tx,
        machine,
        {
          action: 'release_erase',
          actor,
          message: `Releasing with a ${erase} disk erase${comment}`,
          deployment: { ...base, erase },
          data: { erase },
        },
        now,
        this.#d.timeouts,
        this.#d.secrets,
      );
    });
  }

  /** Locks or unlocks a machine (owner or admin). A locked machine refuses state changes. */
  async setLocked(
    actor: Actor,
    id: string,
    locked: boolean,
  ): Promise<Result<Machine, DomainError>> {
    return retryMachineWrite(this.#d, id, actor, async (machine, tx, now) => {
      if (actor.kind === 'user' && !mayActOn(actor.user, machine.ownerId)) {
        return err({ kind: 'forbidden', detail: `machine ${id} is not allocated to you` });
      }
      if (machine.locked === locked) {
        return err({
          kind: 'conflict',
          detail: `machine ${id} is already ${locked ? 'locked' : 'unlocked'}`,
        });
      }
      const updated = await tx.updateMachine(id, machine.version, { locked }, now);
      if (updated === undefined) return err({ kind: 'stale', machineId: id });
      const verb = locked ? 'lock' : 'unlock';
      return ok({
        machine: updated,
        events: [auditEvent(actor, updated, verb, locked ? 'Locked' : 'Unlocked', now)],
        racksToNotify: [],
      });
    });
  }

  /** Seals power parameters stored before they were encrypted (see power-sealing.ts). */
  sealStoredPowerParams(): Promise<number> {
    return sealStoredPowerParams(this.#d);
  }

  /**
   * Asks the machine's rack to power it on, off or cycle it, outside any deployment. Owner or
   * admin; a locked machine refuses.
   */
  async power(
    actor: Actor,
    id: string,
    action: 'on' | 'off' | 'cycle',
  ): Promise<Result<Machine, DomainError>> {
    return retryMachineWrite(this.#d, id, actor, async (machine, tx, now) => {
      if (actor.kind === 'user' && !mayActOn(actor.user, machine.ownerId)) {
        return err({ kind: 'forbidden', detail: `machine ${id} is not allocated to you` });
      }
      if (machine.locked) return err({ kind: 'locked', machineId: id, action: 'deploy' });
      const rackId = await resolveRack(tx, machine);
      if (rackId === null) {
        return err({ kind: 'no-rack', machineId: id, detail: 'no rack agent serves this machine' });
      }
      await tx.insertRackCommand({
        id: uuid(),
        rackId,
        machineId: id,
        body: {
          kind: 'power',
          machineId: id,
          action,
          driver: machine.power?.type ?? 'manual',
          // Sealed as stored; `rpc/convert.ts` opens it on the way to the rack.
          params: machine.power?.params ?? {},
          pxeOnce: false,
        },
        createdAtMs: now,
      });
      return ok({
        machine,
        events: [auditEvent(actor, machine, `power.request`, `Power ${action} requested`, now)],
        racksToNotify: [rackId],
      });
    });
  }
}
