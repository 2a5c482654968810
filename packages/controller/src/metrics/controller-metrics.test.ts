import { describe, expect, it } from 'vitest';
import { createMemoryEventBus } from '../app/memory-event-bus.ts';
import type { EventRecord, NewEvent } from '../domain/event.ts';
import type { MachineStatus } from '../domain/machine/lifecycle.ts';
import { createControllerMetrics } from './controller-metrics.ts';

let seq = 0;
function event(fields: Partial<NewEvent> & Pick<NewEvent, 'kind' | 'step'>): EventRecord {
  seq += 1;
  return {
    id: `e${seq}`,
    machineId: 'm1',
    rackId: 'r1',
    result: 'succeeded',
    fromStatus: null,
    toStatus: null,
    actor: 'system',
    message: '',
    data: {},
    occurredAtMs: 0,
    ...fields,
    seq,
    recordedAtMs: fields.occurredAtMs ?? 0,
  };
}

const transition = (from: MachineStatus, to: MachineStatus, atMs: number, step = 'x') =>
  event({ kind: 'transition', step, fromStatus: from, toStatus: to, occurredAtMs: atMs });
const step = (name: string, result: NewEvent['result'], atMs: number, data = {}) =>
  event({ kind: 'step', step: name, result, occurredAtMs: atMs, data });

/** The lines of one metric family (HELP, TYPE and samples), as rendered. */
function family(text: string, name: string): string {
  return text
    .split('\n')
    .filter(
      (l) =>
        l.startsWith(`# HELP ${name} `) || l.startsWith(`# TYPE ${name} `) || l.startsWith(name),
    )
    .join('\n');
}

function setup(statuses: MachineStatus[] = []) {
  const bus = createMemoryEventBus((e) => {
    throw e;
  });
  const counts = new Map<MachineStatus, number>();
  for (const status of statuses) counts.set(status, (counts.get(status) ?? 0) + 1);
  let sessions = 2;
  const metrics = createControllerMetrics({
    bus,
    store: { countMachinesByStatus: () => Promise.resolve(counts) },
    rackSessions: () => sessions,
  });
  return { bus, metrics, setSessions: (n: number) => (sessions = n) };
}

describe('controller metrics', () => {
  it('names this controller and shows whether it leads and hears the cluster', async () => {
    const state = { leader: false, listening: true };
    const metrics = createControllerMetrics({
      bus: createMemoryEventBus(),
      store: { countMachinesByStatus: () => Promise.resolve(new Map()) },
      rackSessions: () => 0,
      cluster: {
        instanceId: 'ctl-a-0123abcd',
        name: 'ctl-a',
        isLeader: () => state.leader,
        listening: () => state.listening,
      },
    });
    let text = await metrics.render();
    expect(text).toContain('ingot_controller_info{instance="ctl-a-0123abcd",name="ctl-a"} 1');
    expect(text).toMatch(/^ingot_cluster_leader 0$/m);
    expect(text).toMatch(/^ingot_cluster_listening 1$/m);
    state.leader = true;
    state.listening = false;
    text = await metrics.render();
    expect(text).toMatch(/^ingot_cluster_leader 1$/m);
    expect(text).toMatch(/^ingot_cluster_listening 0$/m);
    metrics.close();
  });

  it('renders machine counts by status and rack sessions when scraped', async () => {
    const { metrics, setSessions } = setup(['ready', 'ready', 'deployed']);
    expect(metrics.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await metrics.render();
    expect(family(text, 'ingot_machines')).toContain(
      [
        '# HELP ingot_machines Machines by status.',
        '# TYPE ingot_machines gauge',
        'ingot_machines{status="new"} 0',
        'ingot_machines{status="commissioning"} 0',
        'ingot_machines{status="ready"} 2',
        'ingot_machines{status="allocated"} 0',
        'ingot_machines{status="deploying"} 0',
        'ingot_machines{status="deployed"} 1',
      ].join('\n'),
    );
    expect(family(text, 'ingot_rack_sessions')).toBe(
      [
        '# HELP ingot_rack_sessions Rack agents with an open session on this controller.',
        '# TYPE ingot_rack_sessions gauge',
        'ingot_rack_sessions 2',
      ].join('\n'),
    );
    setSessions(0);
    expect(await metrics.render()).toContain('\ningot_rack_sessions 0\n');
  });

  it('counts deploy outcomes and times deployments from the transitions on the bus', async () => {
    const { bus, metrics } = setup();
    bus.publish([
      transition('allocated', 'deploying', 1_000, 'deploy'),
      // install.reboot: deploying → deploying is not a new deployment.
      transition('deploying', 'deploying', 30_000, 'installed'),
      transition('deploying', 'deployed', 76_000, 'deployed'),
      event({ ...transition('allocated', 'deploying', 0, 'deploy'), machineId: 'm2' }),
      event({ ...transition('deploying', 'failed_deployment', 0, 'timeout'), machineId: 'm2' }),
    ]);
    const text = await metrics.render();
    expect(family(text, 'ingot_deploys_total')).toBe(
      [
        '# HELP ingot_deploys_total Deployments that ended, by the status they ended in (aborted: back to allocated).',
        '# TYPE ingot_deploys_total counter',
        'ingot_deploys_total{outcome="deployed"} 1',
        'ingot_deploys_total{outcome="failed_deployment"} 1',
        'ingot_deploys_total{outcome="aborted"} 0',
        'ingot_deploys_total{outcome="broken"} 0',
      ].join('\n'),
    );
    expect(text).toContain('\ningot_deploys_started_total 2\n');
    expect(family(text, 'ingot_deploy_duration_seconds_bucket')).toContain(
      [
        'ingot_deploy_duration_seconds_bucket{le="60",outcome="deployed"} 0',
        'ingot_deploy_duration_seconds_bucket{le="120",outcome="deployed"} 1',
      ].join('\n'),
    );
    expect(text).toContain('ingot_deploy_duration_seconds_sum{outcome="deployed"} 75\n');
    expect(text).toContain(
      'ingot_machine_transitions_total{from="deploying",to="failed_deployment"} 1\n',
    );
  });

  it('puts step durations in histogram buckets, keeping the first start of a repeated step', async () => {
    const { bus, metrics } = setup();
    bus.publish([
      transition('allocated', 'deploying', 0, 'deploy'),
      step('install.image', 'started', 10_000),
      // Progress ticks are repeated `started` events; the step still began at 10 s.
      step('install.image', 'started', 20_000, { bytes_done: 1 }),
      step('install.image', 'succeeded', 47_000),
      step('dhcp.ack', 'succeeded', 48_000),
      step('install.customise', 'started', 50_000),
      step('install.customise', 'failed', 50_400),
    ]);
    const text = await metrics.render();
    expect(family(text, 'ingot_step_duration_seconds')).toBe(
      [
        '# HELP ingot_step_duration_seconds Time from a step starting to it succeeding or failing, by step and result.',
        '# TYPE ingot_step_duration_seconds histogram',
        'ingot_step_duration_seconds_bucket{le="0.5",step="install.image",result="succeeded"} 0',
        'ingot_step_duration_seconds_bucket{le="1",step="install.image",result="succeeded"} 0',
        'ingot_step_duration_seconds_bucket{le="2.5",step="install.image",result="succeeded"} 0',
        'ingot_step_duration_seconds_bucket{le="5",step="install.image",result="succeeded"} 0',
        'ingot_step_duration_seconds_bucket{le="10",step="install.image",result="succeeded"} 0',
        'ingot_step_duration_seconds_bucket{le="30",step="install.image",result="succeeded"} 0',
        'ingot_step_duration_seconds_bucket{le="60",step="install.image",result="succeeded"} 1',
        'ingot_step_duration_seconds_bucket{le="120",step="install.image",result="succeeded"} 1',
        'ingot_step_duration_seconds_bucket{le="300",step="install.image",result="succeeded"} 1',
        'ingot_step_duration_seconds_bucket{le="600",step="install.image",result="succeeded"} 1',
        'ingot_step_duration_seconds_bucket{le="1800",step="install.image",result="succeeded"} 1',
        'ingot_step_duration_seconds_bucket{le="+Inf",step="install.image",result="succeeded"} 1',
        'ingot_step_duration_seconds_sum{step="install.image",result="succeeded"} 37',
        'ingot_step_duration_seconds_count{step="install.image",result="succeeded"} 1',
        'ingot_step_duration_seconds_bucket{le="0.5",step="install.customise",result="failed"} 1',
        'ingot_step_duration_seconds_bucket{le="1",step="install.customise",result="failed"} 1',
        'ingot_step_duration_seconds_bucket{le="2.5",step="install.customise",result="failed"} 1',
        'ingot_step_duration_seconds_bucket{le="5",step="install.customise",result="failed"} 1',
        'ingot_step_duration_seconds_bucket{le="10",step="install.customise",result="failed"} 1',
        'ingot_step_duration_seconds_bucket{le="30",step="install.customise",result="failed"} 1',
        'ingot_step_duration_seconds_bucket{le="60",step="install.customise",result="failed"} 1',
        'ingot_step_duration_seconds_bucket{le="120",step="install.customise",result="failed"} 1',
        'ingot_step_duration_seconds_bucket{le="300",step="install.customise",result="failed"} 1',
        'ingot_step_duration_seconds_bucket{le="600",step="install.customise",result="failed"} 1',
        'ingot_step_duration_seconds_bucket{le="1800",step="install.customise",result="failed"} 1',
        'ingot_step_duration_seconds_bucket{le="+Inf",step="install.customise",result="failed"} 1',
        'ingot_step_duration_seconds_sum{step="install.customise",result="failed"} 0.4',
        'ingot_step_duration_seconds_count{step="install.customise",result="failed"} 1',
      ].join('\n'),
    );
    // A step with no start is counted, but has no duration.
    expect(text).toContain('ingot_steps_total{step="dhcp.ack",result="succeeded"} 1\n');
  });

  it('bounds step labels a machine controls and counts power failures by driver', async () => {
    const { bus, metrics } = setup();
    bus.publish([
      step('Weird step "name"\n', 'failed', 0),
      step('power.on', 'failed', 0, { driver: 'ipmi' }),
      event({ kind: 'power', step: 'power.query', result: 'failed', data: { driver: 'redfish' } }),
      event({
        kind: 'power',
        step: 'power.query',
        result: 'succeeded',
        data: { driver: 'redfish' },
      }),
    ]);
    const text = await metrics.render();
    expect(text).toContain('ingot_steps_total{step="other",result="failed"} 1\n');
    expect(text).not.toContain('Weird');
    expect(family(text, 'ingot_power_failures_total')).toContain(
      [
        'ingot_power_failures_total{driver="ipmi",action="on"} 1',
        'ingot_power_failures_total{driver="redfish",action="query"} 1',
      ].join('\n'),
    );
  });

  it('counts HTTP requests by method, route and status and stops listening when closed', async () => {
    const { bus, metrics } = setup();
    metrics.observeHttpRequest({
      method: 'GET',
      route: '/api/v1/machines/:id',
      status: 404,
      durationSeconds: 0.003,
    });
    metrics.close();
    bus.publish([transition('deploying', 'deployed', 0)]);
    const text = await metrics.render();
    expect(text).toContain(
      'ingot_http_requests_total{method="GET",route="/api/v1/machines/:id",status="404"} 1\n',
    );
    expect(text).toContain(
      'ingot_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/api/v1/machines/:id"} 1\n',
    );
    expect(text).toContain('ingot_deploys_total{outcome="deployed"} 0\n');
  });
});
