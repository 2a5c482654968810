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
  Architecture,
  DeploymentChoice,
  Machine,
  PowerConfig,
} from '../domain/machine/machine.ts';
import { isValidHostname } from '../domain/machine/machine.ts';
import { mayActOn, maySee } from '../domain/user.ts';
import { actorName, type Actor } from './actor.ts';
import { shortId, uuid } from './ids.ts';
import type { EventBus, MachineFilter, MachinePatch, RackNotifier, Store } from './ports.ts';
import {
  resolveRack,
  runTransition,
  type StatusTimeouts,
  type TransitionInput,
} from './transition-runner.ts';

/** What an operator gives to create a machine. */
export interface CreateMachineInput {
  readonly hostname?: string | undefined;
  readonly arch: Architecture;
  readonly macs: readonly string[];
  readonly cpuCount?: number | undefined;
  readonly memoryMib?: number | undefined;
  readonly storageGib?: number | undefined;
  readonly tags?: readonly string[] | undefined;
  readonly zone?: string | undefined;
  readonly pool?: string | undefined;
  readonly power?: PowerConfig | undefined;
  readonly rackId?: string | undefined;
  /** false: the operator supplies the facts and the machine goes straight to `ready`. */
  readonly commission: boolean;
}

/** What a deploy asks for. */
export interface DeployInput {
  readonly os: string;
  readonly release: string;
  readonly kernel?: string | undefined;
  readonly userData?: string | undefined;
  readonly ephemeral?: boolean | undefined;
}

/** Operator edits (PATCH). */
export type UpdateMachineInput = Pick<
  MachinePatch,
  | 'hostname'
  | 'tags'
  | 'zone'
  | 'pool'
  | 'power'
  | 'rackId'
  | 'cpuCount'
  | 'memoryMib'
  | 'storageGib'
  | 'arch'
  | 'macs'
>;

/** Dependencies of {@link MachineService}. */
export interface MachineServiceDeps {
  readonly store: Store;
  readonly bus: EventBus;
  readonly racks: RackNotifier;
  readonly clock: Clock;
  readonly timeouts: StatusTimeouts;
}

const MAX_CAS_RETRIES = 8;

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
      power: input.power ?? null,
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
    return this.#withRetry(id, actor, async (machine, tx, now) => {
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
      const updated = await tx.updateMachine(id, machine.version, input, now);
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
    return this.#withRetry(id, actor, async (machine, tx, now) => {
      if (actor.kind === 'user' && !mayActOn(actor.user, machine.ownerId)) {
        return err({ kind: 'forbidden', detail: `machine ${id} is not allocated to you` });
      }
      return runTransition(tx, machine, { ...extra, action, actor }, now, this.#d.timeouts);
    });
  }

  /** Locks or unlocks a machine (owner or admin). A locked machine refuses state changes. */
  async setLocked(
    actor: Actor,
    id: string,
    locked: boolean,
  ): Promise<Result<Machine, DomainError>> {
    return this.#withRetry(id, actor, async (machine, tx, now) => {
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

  /**
   * Asks the machine's rack to power it on, off or cycle it, outside any deployment. Owner or
   * admin; a locked machine refuses.
   */
  async power(
    actor: Actor,
    id: string,
    action: 'on' | 'off' | 'cycle',
  ): Promise<Result<Machine, DomainError>> {
    return this.#withRetry(id, actor, async (machine, tx, now) => {
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

  /**
   * Loads the machine, runs `work` in a transaction, retries when another writer got there first
   * (compare-and-set on the version), then publishes events and wakes rack sessions.
   */
  async #withRetry(
    id: string,
    actor: Actor,
    work: (
      machine: Machine,
      tx: Store,
      nowMs: number,
    ) => Promise<
      Result<{ machine: Machine; events: NewEvent[]; racksToNotify: string[] }, DomainError>
    >,
  ): Promise<Result<Machine, DomainError>> {
    for (let attempt = 0; attempt < MAX_CAS_RETRIES; attempt++) {
      const now = this.#d.clock.now();
      const outcome = await this.#d.store.transaction(async (tx) => {
        const machine = await tx.getMachine(id);
        if (
          machine === undefined ||
          (actor.kind === 'user' && !maySee(actor.user, machine.ownerId))
        ) {
          return {
            result: err<DomainError>({ kind: 'not-found', entity: 'machine', id }),
            stored: [] as EventRecord[],
          };
        }
        const result = await work(machine, tx, now);
        if (!result.ok) return { result, stored: [] as EventRecord[] };
        const stored = await tx.appendEvents(result.value.events, now);
        return { result, stored };
      });
      const { result, stored } = outcome;
      if (!result.ok && result.error.kind === 'stale') continue;
      if (!result.ok) return result;
      this.#d.bus.publish(stored);
      for (const rackId of result.value.racksToNotify) this.#d.racks.commandsQueued(rackId);
      return ok(result.value.machine);
    }
    return err({ kind: 'conflict', detail: `machine ${id} is changing too fast; try again` });
  }
}

function requireAdmin(actor: Actor): DomainError | undefined {
  if (actor.kind === 'user' && actor.user.role !== 'admin') {
    return { kind: 'forbidden', detail: 'this action needs the admin role' };
  }
  return undefined;
}

function auditEvent(
  actor: Actor,
  machine: Machine,
  step: string,
  message: string,
  nowMs: number,
): NewEvent {
  return {
    id: uuid(),
    kind: 'audit',
    machineId: machine.id,
    rackId: machine.rackId,
    step,
    result: 'succeeded',
    fromStatus: null,
    toStatus: null,
    actor: actorName(actor),
    message,
    data: {},
    occurredAtMs: nowMs,
  };
}
