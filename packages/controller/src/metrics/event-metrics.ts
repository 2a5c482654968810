/**
 * Metrics derived from the events the controller already publishes (transitions, steps, power):
 * deploy outcomes and durations, step durations, transitions and power failures. Nothing in the
 * domain or the services knows about metrics; this module only listens to the event bus.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { EventRecord } from '../domain/event.ts';
import { RESTING_STATUSES } from '../domain/machine/lifecycle.ts';

/** Seconds; from a DHCP ack (well under a second) to writing a large image (many minutes). */
export const STEP_DURATION_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];
/** Seconds from `deploy` to the deployment's end: a tiny image in memory takes ~20 s. */
export const DEPLOY_DURATION_BUCKETS = [15, 30, 60, 120, 180, 300, 600, 900, 1800, 3600];
/** How a deployment ended, by the status it ended in (`aborted`: back to `allocated`). */
export const DEPLOY_OUTCOMES = ['deployed', 'failed_deployment', 'aborted', 'broken'] as const;

/**
 * Step names come from machines (installer, cloud-init through the metadata service): only
 * well-formed names become label values, and at most this many distinct ones, so a misbehaving
 * machine cannot blow up the series count. Others are counted as `other`.
 */
const MAX_STEP_LABELS = 200;
const STEP_NAME = /^[a-z][a-z0-9_-]*(?:\.[a-z0-9_-]+){0,3}$/;
/** Machines whose step starts are remembered (busy machines only; resting ones are dropped). */
const MAX_TRACKED_MACHINES = 10_000;

/** Listens to stored events and updates the metrics registered on `registry`. */
export interface EventMetrics {
  observe(event: EventRecord): void;
}

/** Registers the event-derived metrics on `registry`. */
export function createEventMetrics(registry: Registry): EventMetrics {
  const registers = [registry];
  const deploysStarted = new Counter({
    name: 'ingot_deploys_started_total',
    help: 'Deployments started (a machine entered deploying).',
    registers,
  });
  const deploys = new Counter({
    name: 'ingot_deploys_total',
    help: 'Deployments that ended, by the status they ended in (aborted: back to allocated).',
    labelNames: ['outcome'] as const,
    registers,
  });
  const deployDuration = new Histogram({
    name: 'ingot_deploy_duration_seconds',
    help: 'Time from deploy to the end of the deployment, by outcome.',
    labelNames: ['outcome'] as const,
    buckets: DEPLOY_DURATION_BUCKETS,
    registers,
  });
  const stepDuration = new Histogram({
    name: 'ingot_step_duration_seconds',
    help: 'Time from a step starting to it succeeding or failing, by step and result.',
    labelNames: ['step', 'result'] as const,
    buckets: STEP_DURATION_BUCKETS,
    registers,
  });
  const steps = new Counter({
    name: 'ingot_steps_total',
    help: 'Steps that ended, by step and result (succeeded or failed).',
    labelNames: ['step', 'result'] as const,
    registers,
  });
  const transitions = new Counter({
    name: 'ingot_machine_transitions_total',
    help: 'Machine lifecycle transitions, by status before and after.',
    labelNames: ['from', 'to'] as const,
    registers,
  });
  const powerFailures = new Counter({
    name: 'ingot_power_failures_total',
    help: 'Power actions that failed, and BMCs that started failing power queries, by driver and action.',
    labelNames: ['driver', 'action'] as const,
    registers,
  });
  // Series that exist from the first scrape, so rate() and alerts see 0 rather than nothing.
  for (const outcome of DEPLOY_OUTCOMES) deploys.inc({ outcome }, 0);

  const stepLabels = new Set<string>();
  const stepLabel = (step: string): string => {
    if (stepLabels.has(step)) return step;
    if (!STEP_NAME.test(step) || step.length > 48 || stepLabels.size >= MAX_STEP_LABELS) {
      return 'other';
    }
    stepLabels.add(step);
    return step;
  };
  /** Per busy machine: when each running step started, and when its deployment started. */
  const busy = new Map<string, { steps: Map<string, number>; deployStartedMs?: number }>();
  const track = (machineId: string): { steps: Map<string, number>; deployStartedMs?: number } => {
    let entry = busy.get(machineId);
    if (entry === undefined) {
      // Oldest first out: a machine that vanished mid-step must not hold memory forever.
      if (busy.size >= MAX_TRACKED_MACHINES) busy.delete(busy.keys().next().value ?? '');
      entry = { steps: new Map() };
      busy.set(machineId, entry);
    }
    return entry;
  };

  const onTransition = (event: EventRecord, machineId: string): void => {
    const from = event.fromStatus;
    const to = event.toStatus;
    if (to === null) return;
    transitions.inc({ from: from ?? 'none', to });
    if (to === 'deploying' && from !== 'deploying') {
      deploysStarted.inc();
      track(machineId).deployStartedMs = event.occurredAtMs;
    }
    if (from === 'deploying' && to !== 'deploying') {
      const outcome = to === 'allocated' ? 'aborted' : to;
      deploys.inc({ outcome });
      const startedMs = busy.get(machineId)?.deployStartedMs;
      if (startedMs !== undefined) {
        deployDuration.observe({ outcome }, Math.max(0, event.occurredAtMs - startedMs) / 1000);
      }
    }
    if (RESTING_STATUSES.has(to)) busy.delete(machineId);
  };

  const onStep = (event: EventRecord, machineId: string): void => {
    if (event.result === 'started') {
      const entry = track(machineId);
      // Progress is reported as repeated `started` events (deploy-contract.md): keep the first.
      if (!entry.steps.has(event.step)) entry.steps.set(event.step, event.occurredAtMs);
      return;
    }
    if (event.result !== 'succeeded' && event.result !== 'failed') return;
    const labels = { step: stepLabel(event.step), result: event.result };
    steps.inc(labels);
    const entry = busy.get(machineId);
    const startedMs = entry?.steps.get(event.step);
    if (startedMs === undefined) return;
    entry?.steps.delete(event.step);
    stepDuration.observe(labels, Math.max(0, event.occurredAtMs - startedMs) / 1000);
  };

  const onPower = (event: EventRecord): void => {
    if (event.result !== 'failed' || !event.step.startsWith('power.')) return;
    const driver = event.data['driver'];
    powerFailures.inc({
      driver: typeof driver === 'string' && STEP_NAME.test(driver) ? driver : 'unknown',
      action: stepLabel(event.step.slice('power.'.length)),
    });
  };

  return {
    observe(event) {
      const machineId = event.machineId;
      if (machineId === null) return;
      switch (event.kind) {
        case 'transition':
          onTransition(event, machineId);
          return;
        case 'step':
          onStep(event, machineId);
          onPower(event);
          return;
        case 'power':
          onPower(event);
          return;
        case 'audit':
          return;
      }
    },
  };
}
