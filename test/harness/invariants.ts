/**
 * Invariant checkers for the resilience scenarios (issue 7: failover and chaos). They read what a
 * run left behind — the machines and events the controllers stored, what each simulated machine
 * saw, what the allocation API handed out — and list every violation. They are pure functions of
 * plain data, so each can be fed crafted inputs and shown to fail (`invariants.e2e.test.ts`), and
 * `readRunRecord` fetches the real inputs from a controller's API.
 *
 * The invariants:
 * - outcome: every machine ends `deployed` or `failed_*`, and a failed one says why;
 * - lost: every step a machine saw acknowledged by the agent is stored;
 * - duplicated: no event id is stored twice, no step is stored more often than the machine made
 *   it, and steps and transitions the flow has once are stored at most once;
 * - double-ip: no address is leased to two machines at overlapping times;
 * - double-alloc: no machine is allocated twice without a release in between, nor handed to two
 *   callers, and its owner is the one its allocation named.
 */
import { api } from './api.ts';

/** An event as `GET /api/v1/events` returns it (the fields the checkers read). */
export interface StoredEvent {
  readonly seq: number;
  readonly id: string;
  readonly kind: string;
  readonly machine_id: string | null;
  readonly step: string;
  readonly result: string;
  readonly from_status: string | null;
  readonly to_status: string | null;
  readonly actor: string;
  readonly message: string;
  readonly data: Readonly<Record<string, unknown>>;
  readonly occurred_at: string | null;
  /** When the controller stored it. */
  readonly recorded_at?: string;
}

/** A machine as `GET /api/v1/machines` returns it (the fields the checkers read). */
export interface StoredMachine {
  readonly id: string;
  readonly hostname: string;
  readonly status: string;
  readonly status_message: string;
  readonly owner: string | null;
  readonly last_step: { step: string; result: string; message: string } | null;
}

/** One step a simulated machine made, as the machine saw it. */
export interface SimStep {
  readonly step: string;
  readonly result: string;
  /**
   * The event ids the agent answered for this step (202 `{ id }`), one per acknowledged attempt.
   * Empty for steps the agent records itself (DHCP, TFTP and HTTP fetches): the machine sees the
   * reply, not the id.
   */
  readonly ids: readonly string[];
  /** The agent acknowledged it (answered 202, or served the request the step stands for). */
  readonly acknowledged: boolean;
  /**
   * The machine's count is a lower bound only: one DHCP request retransmitted by the machine may
   * be answered (and recorded) twice while the machine takes one answer. Checked for loss only.
   */
  readonly atLeast?: boolean;
}

/** An address a machine was given, and for how long. */
export interface AddressGrant {
  readonly machineId: string;
  readonly ip: string;
  readonly fromMs: number;
  /** End of the lease (`Infinity` for a reservation, or when the lease time is unknown). */
  readonly untilMs: number;
  /** Where the checker learned it (`dhcp.ack event`, `simulator`, …), for the report. */
  readonly source: string;
}

/** What one simulated machine saw during a run. */
export interface SimMachine {
  readonly machineId: string;
  readonly steps: readonly SimStep[];
  readonly addresses: readonly AddressGrant[];
}

/** An allocation the API answered with 200: who got which machine. */
export interface AllocationGrant {
  readonly machineId: string;
  readonly owner: string;
}

/** One broken invariant. */
export interface Violation {
  readonly invariant: 'outcome' | 'lost' | 'duplicated' | 'double-ip' | 'double-alloc';
  readonly machineId: string | null;
  readonly detail: string;
}

/** The result of every checker over one run. */
export interface InvariantReport {
  readonly machines: number;
  readonly violations: readonly Violation[];
  readonly counts: Readonly<Record<Violation['invariant'], number>>;
}

const TERMINAL_OK = 'deployed';

/** Every machine ends `deployed` or `failed_*`, and a failed machine carries a reason. */
export function checkOutcomes(machines: readonly StoredMachine[]): Violation[] {
  const out: Violation[] = [];
  for (const m of machines) {
    if (m.status === TERMINAL_OK) continue;
    if (!m.status.startsWith('failed_')) {
      out.push({
        invariant: 'outcome',
        machineId: m.id,
        detail: `${m.hostname} ended ${m.status} (${m.status_message || 'no message'})`,
      });
      continue;
    }
    const reason = m.status_message.trim() || (m.last_step?.message.trim() ?? '');
    if (reason === '') {
      out.push({
        invariant: 'outcome',
        machineId: m.id,
        detail: `${m.hostname} ended ${m.status} without a reason`,
      });
    }
  }
  return out;
}

function key(...parts: readonly (string | null)[]): string {
  return parts.map((p) => p ?? '-').join('\u0000');
}

function countBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(keyOf(item), (counts.get(keyOf(item)) ?? 0) + 1);
  return counts;
}

/** Options of {@link checkEvents}. */
export interface EventCheckOptions {
  /**
   * Steps the flow makes once per machine whatever the simulator saw, as `step` (any result) or
   * `step:result` (e.g. `power.on:succeeded`: an attempt cut short by a kill may start again, but
   * the machine is powered on once): stored more than once is a duplicate.
   */
  readonly onceSteps?: readonly string[];
  /** Lifecycle transitions (`from→to`) happen at most once per machine in this run. */
  readonly onceTransitions?: boolean;
}

/**
 * Lost and duplicated events: compares what each simulated machine saw with the events stored
 * for it. Only step events of the rack and of the machine itself are matched against it.
 */
export function checkEvents(
  events: readonly StoredEvent[],
  sims: readonly SimMachine[],
  options: EventCheckOptions = {},
): Violation[] {
  const out: Violation[] = [];
  const byId = countBy(events, (e) => e.id);
  const seen = new Set<string>();
  for (const e of events) {
    const n = byId.get(e.id) ?? 0;
    if (n > 1 && !seen.has(e.id)) {
      seen.add(e.id);
      out.push({
        invariant: 'duplicated',
        machineId: e.machine_id,
        detail: `event id ${e.id} (${e.step} ${e.result}) stored ${n} times`,
      });
    }
  }
  // Steps a machine made: reported through its rack (or recorded by it) and through the metadata
  // service (actor `machine:<id>`).
  const rackSteps = events.filter(
    (e) => e.kind === 'step' && (e.actor.startsWith('rack:') || e.actor.startsWith('machine:')),
  );
  const storedSteps = countBy(rackSteps, (e) => key(e.machine_id, e.step, e.result));
  const storedIds = new Set(events.map((e) => e.id));

  for (const sim of sims) {
    const made = countBy(
      sim.steps.filter((s) => s.atLeast !== true),
      (s) => key(sim.machineId, s.step, s.result),
    );
    const acked = countBy(
      sim.steps.filter((s) => s.acknowledged),
      (s) => key(sim.machineId, s.step, s.result),
    );
    for (const s of sim.steps) {
      for (const id of s.ids) {
        if (!storedIds.has(id)) {
          out.push({
            invariant: 'lost',
            machineId: sim.machineId,
            detail: `${s.step} ${s.result}: the agent acknowledged event ${id}, not stored`,
          });
        }
      }
    }
    for (const [k, n] of acked) {
      const stored = storedSteps.get(k) ?? 0;
      if (stored < n) {
        const [, step, result] = k.split('\u0000');
        out.push({
          invariant: 'lost',
          machineId: sim.machineId,
          detail: `${step ?? ''} ${result ?? ''}: acknowledged ${n}×, stored ${stored}×`,
        });
      }
    }
    for (const [k, stored] of storedSteps) {
      if (!k.startsWith(`${sim.machineId}\u0000`)) continue;
      const [, step, result] = k.split('\u0000');
      const n = made.get(k);
      // Steps the machine does not report itself (power.on …) are left to `onceSteps`.
      if (n !== undefined && stored > n) {
        out.push({
          invariant: 'duplicated',
          machineId: sim.machineId,
          detail: `${step ?? ''} ${result ?? ''}: made ${n}×, stored ${stored}×`,
        });
      }
    }
  }

  const once = new Set(options.onceSteps ?? []);
  const perMachine = countBy(
    rackSteps.filter((e) => once.has(e.step) || once.has(`${e.step}:${e.result}`)),
    (e) => key(e.machine_id, e.step, e.result),
  );
  for (const [k, n] of perMachine) {
    if (n <= 1) continue;
    const [machineId, step, result] = k.split('\u0000');
    // When each copy happened tells a re-delivered report (same time) from a repeated action.
    const at = rackSteps
      .filter((e) => key(e.machine_id, e.step, e.result) === k)
      .map((e) => e.occurred_at ?? '?')
      .join(', ');
    out.push({
      invariant: 'duplicated',
      machineId: machineId ?? null,
      detail: `${step ?? ''} ${result ?? ''} happens once per deploy, stored ${n}× (at ${at})`,
    });
  }
  if (options.onceTransitions === true) {
    const transitions = countBy(
      events.filter((e) => e.kind === 'transition' && e.machine_id !== null),
      (e) => key(e.machine_id, `${e.from_status ?? '-'}→${e.to_status ?? '-'}`),
    );
    for (const [k, n] of transitions) {
      if (n <= 1) continue;
      const [machineId, transition] = k.split('\u0000');
      out.push({
        invariant: 'duplicated',
        machineId: machineId ?? null,
        detail: `transition ${transition ?? ''} stored ${n}×`,
      });
    }
  }
  return out;
}

/**
 * Addresses from the rack's `dhcp.ack` events: each holds its address from the ACK for
 * `leaseSeconds` (unknown lease time: for the rest of the run).
 */
export function addressesFromEvents(
  events: readonly StoredEvent[],
  leaseSeconds = Infinity,
): AddressGrant[] {
  const out: AddressGrant[] = [];
  for (const e of events) {
    if (e.kind !== 'step' || e.step !== 'dhcp.ack' || e.machine_id === null) continue;
    const ip = e.data['ip'];
    const at = Date.parse(e.occurred_at ?? '');
    if (typeof ip !== 'string' || Number.isNaN(at)) continue;
    out.push({
      machineId: e.machine_id,
      ip,
      fromMs: at,
      untilMs: at + leaseSeconds * 1000,
      source: `dhcp.ack event ${e.id}`,
    });
  }
  return out;
}

/** No address is held by two machines at overlapping times. */
export function checkAddresses(grants: readonly AddressGrant[]): Violation[] {
  const out: Violation[] = [];
  const byIp = new Map<string, AddressGrant[]>();
  for (const g of grants) byIp.set(g.ip, [...(byIp.get(g.ip) ?? []), g]);
  for (const [ip, list] of byIp) {
    const sorted = [...list].sort((a, b) => a.fromMs - b.fromMs);
    const reported = new Set<string>();
    for (let i = 0; i < sorted.length; i++) {
      const a = sorted[i];
      if (a === undefined) continue;
      for (let j = i + 1; j < sorted.length; j++) {
        const b = sorted[j];
        if (b === undefined || b.fromMs >= a.untilMs) continue;
        if (a.machineId === b.machineId) continue;
        const pair = key(ip, ...[a.machineId, b.machineId].sort());
        if (reported.has(pair)) continue;
        reported.add(pair);
        out.push({
          invariant: 'double-ip',
          machineId: b.machineId,
          detail: `${ip} given to ${a.machineId} (${a.source}) and ${b.machineId} (${b.source})`,
        });
      }
    }
  }
  return out;
}

/**
 * No double allocations: per machine, no second `allocate` without a release in between; no
 * machine handed to two callers; and an allocated machine's owner is its last allocation's.
 */
export function checkAllocations(
  events: readonly StoredEvent[],
  machines: readonly StoredMachine[],
  grants: readonly AllocationGrant[] = [],
): Violation[] {
  const out: Violation[] = [];
  const holder = new Map<string, string>();
  const sorted = [...events].sort((a, b) => a.seq - b.seq);
  for (const e of sorted) {
    if (e.kind !== 'transition' || e.machine_id === null) continue;
    if (e.step === 'allocate') {
      const prior = holder.get(e.machine_id);
      if (prior !== undefined) {
        out.push({
          invariant: 'double-alloc',
          machineId: e.machine_id,
          detail: `allocated to ${e.actor} while ${prior} still held it (event ${e.id})`,
        });
      }
      holder.set(e.machine_id, e.actor);
    } else if (e.to_status === 'ready' || e.to_status === 'releasing') {
      holder.delete(e.machine_id);
    }
  }
  const granted = new Map<string, string[]>();
  for (const g of grants) granted.set(g.machineId, [...(granted.get(g.machineId) ?? []), g.owner]);
  for (const [machineId, owners] of granted) {
    if (owners.length > 1) {
      out.push({
        invariant: 'double-alloc',
        machineId,
        detail: `the allocation API gave it to ${owners.join(' and ')}`,
      });
    }
  }
  for (const m of machines) {
    const owners = granted.get(m.id);
    const allocatedTo = holder.get(m.id);
    if (m.owner === null) continue;
    if (owners !== undefined && !owners.includes(m.owner)) {
      out.push({
        invariant: 'double-alloc',
        machineId: m.id,
        detail: `owned by ${m.owner}, but the API gave it to ${owners.join(', ')}`,
      });
    }
    if (allocatedTo !== undefined && allocatedTo !== `user:${m.owner}`) {
      out.push({
        invariant: 'double-alloc',
        machineId: m.id,
        detail: `owned by ${m.owner}, but its allocate event names ${allocatedTo}`,
      });
    }
  }
  return out;
}

/** Everything a run left behind. */
export interface RunRecord {
  readonly machines: readonly StoredMachine[];
  readonly events: readonly StoredEvent[];
  readonly sims: readonly SimMachine[];
  readonly grants: readonly AllocationGrant[];
  /** Lease time of the run's subnet (for addresses read from `dhcp.ack` events). */
  readonly leaseSeconds?: number;
}

/** Runs every checker over a run. */
export function checkRun(run: RunRecord, options: EventCheckOptions = {}): InvariantReport {
  const violations = [
    ...checkOutcomes(run.machines),
    ...checkEvents(run.events, run.sims, options),
    ...checkAddresses([
      ...addressesFromEvents(run.events, run.leaseSeconds),
      ...run.sims.flatMap((s) => s.addresses),
    ]),
    ...checkAllocations(run.events, run.machines, run.grants),
  ];
  const counts = { outcome: 0, lost: 0, duplicated: 0, 'double-ip': 0, 'double-alloc': 0 };
  for (const v of violations) counts[v.invariant] += 1;
  return { machines: run.machines.length, violations, counts };
}

/** The summary line `e2e:chaos` ends with. */
export function summaryLine(report: InvariantReport): string {
  const c = report.counts;
  return (
    `chaos: ${String(report.machines)} deploys, lost ${String(c.lost)}, ` +
    `duplicated ${String(c.duplicated)}, double-ip ${String(c['double-ip'])}, ` +
    `double-alloc ${String(c['double-alloc'])}`
  );
}

/** Reads every machine and every event (paging by seq) from a controller's API. */
export async function readStored(
  url: string,
  adminKey: string,
): Promise<{ machines: StoredMachine[]; events: StoredEvent[] }> {
  const machines = await api<StoredMachine[]>(url, adminKey, 'GET', '/api/v1/machines?limit=10000');
  if (machines.status !== 200) throw new Error(`machines: ${String(machines.status)}`);
  const events: StoredEvent[] = [];
  let after = 0;
  for (let page = 0; page < 1000; page++) {
    const r = await api<StoredEvent[]>(
      url,
      adminKey,
      'GET',
      `/api/v1/events?limit=1000&after=${String(after)}`,
    );
    if (r.status !== 200) throw new Error(`events: ${String(r.status)}`);
    events.push(...r.body);
    const last = r.body.at(-1);
    if (last === undefined || r.body.length < 1000) break;
    after = last.seq;
  }
  return { machines: machines.body, events };
}
