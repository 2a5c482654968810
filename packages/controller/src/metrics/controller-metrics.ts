/**
 * The controller's Prometheus metrics (text exposition format 0.0.4, served at `/metrics`).
 * Everything is measured at the edges: HTTP requests by the request-log middleware, lifecycle
 * and steps from the event bus, machine counts and rack sessions read when scraped. One
 * registry per controller (never prom-client's global one), so tests and several controllers in
 * one process do not share counters.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EventBus, Store } from '../app/ports.ts';
import { MACHINE_STATUSES } from '../domain/machine/lifecycle.ts';
import { createEventMetrics } from './event-metrics.ts';

/** Seconds; API calls are milliseconds, image uploads and long polls take longer. */
export const HTTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One finished HTTP request, as the request-log middleware saw it. */
export interface HttpRequestObservation {
  readonly method: string;
  /** The matched route pattern (`/api/v1/machines/:id`), never the raw path. */
  readonly route: string;
  readonly status: number;
  readonly durationSeconds: number;
}

/** What the metrics read when scraped. */
export interface ControllerMetricsDeps {
  readonly bus: EventBus;
  readonly store: Pick<Store, 'countMachinesByStatus'>;
  /** Rack agents with an open session on this controller. */
  readonly rackSessions: () => number;
  /** This controller among several on one database (`cluster/`); absent in tests. */
  readonly cluster?:
    | {
        readonly instanceId: string;
        readonly name: string;
        isLeader(): boolean;
        listening(): boolean;
      }
    | undefined;
}

/** The controller's metrics. */
export interface ControllerMetrics {
  /** `text/plain; version=0.0.4; charset=utf-8`. */
  readonly contentType: string;
  /** Renders every metric in the text exposition format. Rejects only if the store fails. */
  render(): Promise<string>;
  /** Counts one HTTP request (called by the request-log middleware). */
  observeHttpRequest(request: HttpRequestObservation): void;
  /** Stops listening to the event bus. */
  close(): void;
}

/** Creates the registry, registers every controller metric and subscribes to `deps.bus`. */
export function createControllerMetrics(deps: ControllerMetricsDeps): ControllerMetrics {
  const registry = new Registry();
  const registers = [registry];
  const events = createEventMetrics(registry);
  const unsubscribe = deps.bus.subscribe((event) => events.observe(event));

  new Gauge({
    name: 'ingot_machines',
    help: 'Machines by status.',
    labelNames: ['status'] as const,
    registers,
    async collect() {
      // A count query, not a listing: at 10,000 machines a listing per scrape cost ~100 ms and
      // tens of MB of garbage (issue 7 bench).
      const counts = await deps.store.countMachinesByStatus();
      for (const status of MACHINE_STATUSES) this.set({ status }, counts.get(status) ?? 0);
    },
  });
  new Gauge({
    name: 'ingot_rack_sessions',
    help: 'Rack agents with an open session on this controller.',
    registers,
    collect() {
      this.set(deps.rackSessions());
    },
  });
  const cluster = deps.cluster;
  if (cluster !== undefined) {
    new Gauge({
      name: 'ingot_controller_info',
      help: 'This controller: its instance id (new on every start) and name (--name).',
      labelNames: ['instance', 'name'] as const,
      registers,
    }).set({ instance: cluster.instanceId, name: cluster.name }, 1);
    new Gauge({
      name: 'ingot_cluster_leader',
      help: '1 while this controller leads the cluster (runs the deadline sweeper), else 0.',
      registers,
      collect() {
        this.set(cluster.isLeader() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'ingot_cluster_listening',
      help: '1 while signals from the other controllers reach this one (PostgreSQL LISTEN), else 0.',
      registers,
      collect() {
        this.set(cluster.listening() ? 1 : 0);
      },
    });
  }
  const httpRequests = new Counter({
    name: 'ingot_http_requests_total',
    help: 'HTTP requests answered, by method, matched route and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers,
  });
  const httpDuration = new Histogram({
    name: 'ingot_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method and matched route.',
    labelNames: ['method', 'route'] as const,
    buckets: HTTP_DURATION_BUCKETS,
    registers,
  });

  return {
    contentType: registry.contentType,
    render: () => registry.metrics(),
    observeHttpRequest(request) {
      const { method, route, status, durationSeconds } = request;
      httpRequests.inc({ method, route, status: String(status) });
      httpDuration.observe({ method, route }, durationSeconds);
    },
    close: unsubscribe,
  };
}
