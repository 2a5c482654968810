/**
 * Rack use cases: enrollment, authentication, and everything a rack reports on its session —
 * heartbeats, deployment step events (which advance the machine lifecycle), power results and
 * command acknowledgements. Events carry the agent's ids and are stored once however often they
 * arrive (DESIGN.md §4: at-least-once delivery, deduplicated here).
 */
import { err, ok, type Clock, type Logger, type Result, type StepResult } from '@ingot/common';
import type { DomainError } from '../domain/errors.ts';
import type { EventRecord, NewEvent } from '../domain/event.ts';
import { impliedActionOfRackStep } from '../domain/machine/orchestration.ts';
import { normalizeMac, type PowerState } from '../domain/machine/machine.ts';
import type {
  Rack,
  RackCommand,
  RackHealth,
  RackImageCache,
  RackInterface,
} from '../domain/rack.ts';
import { actorName, type Actor } from './actor.ts';
import { hashSecret, newSecret, secretMatches, shortId, uuid } from './ids.ts';
import type { SecretBox } from './secret-box.ts';
import type { EventBus, RackNotifier, Store } from './ports.ts';
import { newAuditEvent } from './audit-event.ts';
import { rackPowerConfigs, type RackPowerConfig } from './rack-power-configs.ts';
import { enlist, ENLIST_STEP } from './enlistment.ts';
import { networkConfigFor, queueNetworkConfig } from './network-config.ts';
import { runTransition, type StatusTimeouts } from './transition-runner.ts';

/** A step event as a rack reports it (already converted from proto). */
export interface RackStepEvent {
  readonly id: string;
  readonly machineId: string;
  readonly mac: string;
  readonly step: string;
  readonly result: StepResult;
  readonly message: string;
  readonly occurredAtMs: number;
  readonly data: Record<string, unknown>;
}

/** A power result as a rack reports it. */
export interface RackPowerResult {
  readonly commandId: string;
  readonly machineId: string;
  readonly ok: boolean;
  readonly powerState: PowerState;
  readonly errorKind: string;
  readonly message: string;
  readonly observedAtMs: number;
}

/** Dependencies of {@link RackService}. */
export interface RackServiceDeps {
  readonly store: Store;
  readonly bus: EventBus;
  readonly racks: RackNotifier;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly timeouts: StatusTimeouts;
  /** Seals the metadata tokens of queued boot plans (`DATA/secrets.key`). */
  readonly secrets: SecretBox;
  /** How long an enrollment token stays valid. */
  readonly enrollmentTokenTtlMs: number;
  /**
   * The pin of the rack CA (`sha256:<hex>`), appended to enrollment tokens as `TOKEN.PIN` so an
   * agent can check it talks to this controller before it sends the token (mutual TLS). Absent
   * when the gRPC port is plaintext.
   */
  readonly caPin?: string | undefined;
}

/**
 * The secret part of an enrollment token: a token carries the CA pin after its first `.`
 * (`ingot-enroll-<secret>.sha256:<hex>`); only the secret is hashed and stored.
 */
export function enrollmentSecret(token: string): string {
  const dot = token.indexOf('.');
  return dot < 0 ? token : token.slice(0, dot);
}

/** The rack use cases. */
export class RackService {
  readonly #d: RackServiceDeps;
  /**
   * Image cache inventories by rack, as last reported on a session. Kept in memory: every
   * session re-reports after Welcome, so a restarted controller learns them again.
   */
  readonly #caches = new Map<string, RackImageCache>();

  constructor(deps: RackServiceDeps) {
    this.#d = deps;
  }

  /** Creates a one-time enrollment token (admins only). Only its hash is stored. */
  async createEnrollmentToken(
    actor: Actor,
  ): Promise<Result<{ token: string; expiresAtMs: number }, DomainError>> {
    if (actor.kind === 'user' && actor.user.role !== 'admin') {
      return err({ kind: 'forbidden', detail: 'enrolling racks needs the admin role' });
    }
    const secret = `ingot-enroll-${newSecret(24)}`;
    const token = this.#d.caPin === undefined ? secret : `${secret}.${this.#d.caPin}`;
    const now = this.#d.clock.now();
    const expiresAtMs = now + this.#d.enrollmentTokenTtlMs;
    await this.#d.store.transaction(async (tx) => {
      await tx.insertEnrollmentToken(hashSecret(secret), actorName(actor), expiresAtMs, now);
      await tx.appendEvents(
        [newAuditEvent(actor, 'rack.enroll-token', 'Created a rack enrollment token', now)],
        now,
      );
    });
    return ok({ token, expiresAtMs });
  }

  /**
   * Trades a one-time token for a rack identity. The secret is returned once, stored hashed.
   * With `existing` (an agent enrolled before mutual TLS, asking for its first certificate), the
   * token is consumed but the existing rack is kept; its secret must match and it must not be
   * revoked, and the returned secret is empty.
   */
  async register(input: {
    token: string;
    hostname: string;
    version: string;
    interfaces: readonly RackInterface[];
    existing?: { readonly rackId: string; readonly secret: string } | undefined;
  }): Promise<Result<{ rack: Rack; secret: string }, DomainError>> {
    const now = this.#d.clock.now();
    const secret = newSecret();
    const existing = input.existing;
    const result = await this.#d.store.transaction(async (tx) => {
      if (!(await tx.consumeEnrollmentToken(hashSecret(enrollmentSecret(input.token)), now)))
        return undefined;
      if (existing !== undefined) {
        const rack = await tx.getRack(existing.rackId);
        if (rack === undefined || !secretMatches(existing.secret, rack.secretHash))
          return undefined;
        if (rack.revokedAtMs !== undefined) return undefined;
        const events = await tx.appendEvents(
          [
            newAuditEvent(
              { kind: 'rack', rackId: rack.id },
              'rack.certify',
              `Rack ${rack.name} enrolled again for a client certificate`,
              now,
              { rackId: rack.id },
            ),
          ],
          now,
        );
        return { rack, events, secret: '' };
      }
      const taken = new Set((await tx.listRacks()).map((r) => r.name));
      const base = input.hostname.length > 0 ? input.hostname : 'rack';
      let name = base;
      while (taken.has(name)) name = `${base}-${shortId(4)}`;
      const rack: Rack = {
        id: uuid(),
        name,
        secretHash: hashSecret(secret),
        hostname: input.hostname,
        version: input.version,
        interfaces: input.interfaces,
        createdAtMs: now,
        lastSeenAtMs: null,
        connected: false,
        health: null,
        networkConfigVersion: 0,
      };
      await tx.insertRack(rack);
      const events = await tx.appendEvents(
        [
          newAuditEvent(
            { kind: 'rack', rackId: rack.id },
            'rack.register',
            `Rack ${name} enrolled`,
            now,
            {
              rackId: rack.id,
            },
          ),
        ],
        now,
      );
      return { rack, events, secret };
    });
    if (result === undefined) {
      return err({
        kind: 'unauthenticated',
        detail: 'enrollment token is unknown, used or expired',
      });
    }
    this.#d.bus.publish(result.events);
    // Machines naming no rack belong to the only rack: with a second one they belong to none.
    if (existing === undefined)
      for (const r of await this.#d.store.listRacks())
        if (r.id !== result.rack.id) this.#d.racks.powerConfigsChanged(r.id);
    return ok({ rack: result.rack, secret: result.secret });
  }

  /** Checks a rack's credentials. A revoked rack is refused. */
  async authenticate(rackId: string, secret: string): Promise<Result<Rack, DomainError>> {
    const rack = await this.#d.store.getRack(rackId);
    if (rack === undefined || !secretMatches(secret, rack.secretHash)) {
      return err({ kind: 'unauthenticated', detail: 'unknown rack or wrong secret' });
    }
    if (rack.revokedAtMs !== undefined) {
      return err({ kind: 'unauthenticated', detail: 'this rack was revoked' });
    }
    return ok(rack);
  }

  /** Whether rack `rackId` may still hold a session: it exists and is not revoked. */
  async mayConnect(rackId: string): Promise<boolean> {
    const rack = await this.#d.store.getRack(rackId);
    return rack !== undefined && rack.revokedAtMs === undefined;
  }

  /**
   * Revokes a rack (admins only): its certificate and secret stop working at once on every
   * controller — sessions are refused, open ones are closed (here at once, elsewhere at the next
   * heartbeat), and image downloads are refused. Revoking twice keeps the first time.
   */
  async revoke(actor: Actor, rackId: string): Promise<Result<Rack, DomainError>> {
    if (actor.kind === 'user' && actor.user.role !== 'admin') {
      return err({ kind: 'forbidden', detail: 'revoking racks needs the admin role' });
    }
    const now = this.#d.clock.now();
    const result = await this.#d.store.transaction(async (tx) => {
      if (!(await tx.rackTrust.revokeRack(rackId, now))) return undefined;
      const rack = await tx.getRack(rackId);
      if (rack === undefined) return undefined;
      const events = await tx.appendEvents(
        [
          newAuditEvent(actor, 'rack.revoke', `Rack ${rack.name} revoked`, now, {
            rackId: rack.id,
          }),
        ],
        now,
      );
      return { rack, events };
    });
    if (result === undefined) return err({ kind: 'not-found', entity: 'rack', id: rackId });
    this.#d.bus.publish(result.events);
    this.#d.racks.rackRevoked?.(rackId);
    return ok(result.rack);
  }

  /** Lists racks. */
  async list(): Promise<Rack[]> {
    return this.#d.store.listRacks();
  }

  /** Records that a session opened or closed, and what the rack said about itself. */
  async sessionChanged(
    rackId: string,
    connected: boolean,
    hello?: {
      hostname: string;
      version: string;
      interfaces: readonly RackInterface[];
      /** The network config version the agent holds (0: none). */
      networkConfigVersion: number;
    },
  ): Promise<void> {
    const now = this.#d.clock.now();
    if (hello !== undefined) {
      const { networkConfigVersion, ...about } = hello;
      const queued = await this.#d.store.transaction(async (tx) => {
        await tx.updateRackSeen(rackId, { lastSeenAtMs: now, connected, ...about });
        const rack = await tx.getRack(rackId);
        if (rack === undefined) return false;
        // The agent lacks the config we last queued (or never got one while subnets apply to it):
        // queue the current one. Commands are resent on every session anyway; this covers a rack
        // whose data directory was wiped or that enrolled after the subnets were made.
        const stale = networkConfigVersion !== rack.networkConfigVersion;
        const missing =
          rack.networkConfigVersion === 0 && (await networkConfigFor(tx, rack)).subnets.length > 0;
        if (!stale && !missing) return false;
        await queueNetworkConfig(tx, rack, now);
        return true;
      });
      if (queued) this.#d.racks.commandsQueued(rackId);
    } else {
      await this.#d.store.updateRackSeen(rackId, { lastSeenAtMs: now, connected });
    }
    const message = connected ? 'Rack session opened' : 'Rack session closed';
    const stored = await this.#d.store.appendEvents(
      [
        newAuditEvent(
          { kind: 'rack', rackId },
          connected ? 'rack.connected' : 'rack.disconnected',
          message,
          now,
          { rackId },
        ),
      ],
      now,
    );
    this.#d.bus.publish(stored);
  }

  /** Records what a rack's image cache holds (replacing its previous report). */
  recordCacheInventory(rackId: string, inventory: Omit<RackImageCache, 'reportedAtMs'>): void {
    this.#caches.set(rackId, { ...inventory, reportedAtMs: this.#d.clock.now() });
  }

  /** A rack's last image cache report, if this controller has one. */
  cacheInventory(rackId: string): RackImageCache | undefined {
    return this.#caches.get(rackId);
  }

  /** One rack. */
  async get(rackId: string): Promise<Result<Rack, DomainError>> {
    const rack = await this.#d.store.getRack(rackId);
    return rack === undefined ? err({ kind: 'not-found', entity: 'rack', id: rackId }) : ok(rack);
  }

  /** Records a heartbeat. */
  async heartbeat(rackId: string, health: RackHealth): Promise<void> {
    await this.#d.store.updateRackSeen(rackId, {
      lastSeenAtMs: this.#d.clock.now(),
      connected: true,
      health,
    });
  }

  /**
   * How this rack reaches the BMCs of the machines it serves (all, or those of `machineIds` it
   * serves), for power polling. Parameters stay sealed here; the rpc edge opens them as it sends.
   */
  async powerConfigs(rackId: string, machineIds?: readonly string[]): Promise<RackPowerConfig[]> {
    return rackPowerConfigs(this.#d.store, rackId, machineIds);
  }

  /** Commands the rack has not acknowledged yet, oldest first. */
  async pendingCommands(rackId: string): Promise<RackCommand[]> {
    return this.#d.store.pendingRackCommands(rackId);
  }

  /** Marks commands done. */
  async ackCommands(rackId: string, ids: readonly string[]): Promise<void> {
    await this.#d.store.ackRackCommands(rackId, ids, this.#d.clock.now());
  }

  /**
   * Stores step events from a rack (each id once) and advances the lifecycle of the machines
   * they concern, in send order, one transaction per run of consecutive events of one machine
   * (event and transition together, so a crash cannot lose a transition). One transaction for a
   * batch of many machines (an agent's outbox resent after failover) waited for, and conflicted
   * with, every writer of any of them, and was retried for tens of seconds (issue 7).
   * Returns once everything is durable: the caller may then acknowledge all `events` ids.
   */
  async recordEvents(rackId: string, events: readonly RackStepEvent[]): Promise<void> {
    let start = 0;
    const key = (e: RackStepEvent): string =>
      e.machineId !== '' ? e.machineId : (normalizeMac(e.mac) ?? '');
    for (let i = 1; i <= events.length; i++) {
      const last = events[i - 1];
      const next = events[i];
      if (next !== undefined && last !== undefined && key(next) === key(last)) continue;
      await this.#recordRun(rackId, events.slice(start, i));
      start = i;
    }
  }

  async #recordRun(rackId: string, events: readonly RackStepEvent[]): Promise<void> {
    if (events.length === 0) return;
    const now = this.#d.clock.now();
    const notify = new Set<string>();
    const stored = await this.#d.store.transaction(async (tx) => {
      const resolved: NewEvent[] = [];
      const enlisted: NewEvent[] = [];
      for (const e of events) {
        let machineId: string | null = e.machineId.length > 0 ? e.machineId : null;
        const mac = normalizeMac(e.mac);
        if (machineId === null && mac !== null)
          machineId = (await tx.getMachineByMac(mac))?.id ?? null;
        // A re-delivered report must not enlist again (the machine may have been deleted since).
        if (machineId === null && e.step === ENLIST_STEP && !(await tx.hasEvent(e.id))) {
          const created = await enlist(tx, { mac: e.mac, arch: e.data.arch, rackId, nowMs: now });
          machineId = created?.machineId ?? null;
          enlisted.push(...(created?.events ?? []));
        }
        resolved.push({
          id: e.id,
          kind: 'step',
          machineId,
          rackId,
          step: e.step,
          result: e.result,
          fromStatus: null,
          toStatus: null,
          actor: actorName({ kind: 'rack', rackId }),
          message: e.message,
          data: e.mac.length > 0 ? { ...e.data, mac: e.mac } : e.data,
          occurredAtMs: e.occurredAtMs,
        });
      }
      // The enlistment transition is stored before the report that caused it.
      const created = await tx.appendEvents(enlisted, now);
      const fresh = await tx.appendEvents(resolved, now);
      const all: EventRecord[] = [...created, ...fresh];
      for (const event of fresh) {
        if (event.machineId === null) continue;
        const machine = await tx.getMachine(event.machineId);
        if (machine === undefined) continue;
        const step = {
          step: event.step,
          result: event.result,
          message: event.message,
          atMs: event.occurredAtMs,
        };
        const report: RackStepEvent = {
          ...event,
          machineId: machine.id,
          mac: '',
          data: { ...event.data },
        };
        const action = impliedActionOfRackStep(machine, report);
        if (action === undefined) {
          await tx.updateMachine(machine.id, machine.version, { lastStep: step }, now);
          continue;
        }
        const message =
          event.result === 'failed'
            ? `${event.step} failed: ${event.message}`
            : action === 'deployed'
              ? 'Deployed'
              : event.message;
        const outcome = await runTransition(
          tx,
          machine,
          {
            action,
            actor: { kind: 'rack', rackId },
            message,
            patch: { lastStep: step },
            data: { cause: event.id },
          },
          now,
          this.#d.timeouts,
          this.#d.secrets,
        );
        if (!outcome.ok) {
          // Inside one transaction nothing else writes this machine, so `stale` cannot happen;
          // any other refusal means the report does not fit the status, which is fine to keep.
          this.#d.logger.warn('step event did not advance machine', {
            machine_id: machine.id,
            error: outcome.error.kind,
          });
          continue;
        }
        all.push(...(await tx.appendEvents(outcome.value.events, now)));
        for (const r of outcome.value.racksToNotify) notify.add(r);
      }
      return all;
    });
    this.#d.bus.publish(stored.sort((a, b) => a.seq - b.seq));
    for (const r of notify) this.#d.racks.commandsQueued(r);
  }

  /** Records the power state a rack observed. */
  async recordPowerResult(rackId: string, result: RackPowerResult): Promise<void> {
    const now = this.#d.clock.now();
    // Polled observations carry no command id; answers to power commands acknowledge theirs.
    if (result.commandId !== '')
      await this.#d.store.ackRackCommands(rackId, [result.commandId], now);
    const machine = await this.#d.store.getMachine(result.machineId);
    if (machine === undefined) return;
    const state: PowerState = result.ok ? result.powerState : 'error';
    await this.#d.store.recordPowerState(machine.id, state, result.observedAtMs);
    // A BMC that starts or stops failing is shown on the machine's timeline, once per change.
    const failing = state === 'error';
    if (failing === (machine.powerState === 'error')) return;
    const event: NewEvent = {
      id: uuid(),
      kind: 'power',
      machineId: machine.id,
      rackId,
      step: 'power.query',
      result: failing ? 'failed' : 'succeeded',
      fromStatus: null,
      toStatus: null,
      actor: actorName({ kind: 'rack', rackId }),
      message: failing
        ? `BMC unreachable or refusing (${result.errorKind}): ${result.message}`
        : `BMC answers again: power ${state}`,
      data: { state, errorKind: result.errorKind, driver: machine.power?.type ?? null },
      occurredAtMs: result.observedAtMs,
    };
    this.#d.bus.publish(await this.#d.store.appendEvents([event], now));
  }
}
