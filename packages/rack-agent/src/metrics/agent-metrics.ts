/**
 * The rack agent's Prometheus metrics (text exposition format 0.0.4), served at `/metrics` on
 * the agent's HTTP port. Protocol servers report through small callbacks they already expose
 * (DHCP server events, TFTP transfer reports, HTTP boot's observer); power drivers and the image
 * source are wrapped (`instrument.ts`); gauges are read when scraped. One registry per agent.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { CacheInventory } from '../cache/image-cache.ts';

/** DHCP message types (RFC 2132 §9.6) a server receives; anything else counts as `other`. */
const DHCP_REQUEST_TYPES = ['discover', 'request', 'decline', 'release', 'inform'] as const;

/** What the gauges read when scraped. */
export interface AgentMetricsDeps {
  /** Events waiting in the outbox for the controller. */
  readonly outboxDepth: () => number;
  /** Whether a controller session is up. */
  readonly sessionConnected: () => boolean;
  /** The address (`host:port`) of the controller holding the session, while there is one. */
  readonly sessionController?: (() => string | undefined) | undefined;
  /** The image cache's content, once the cache exists. */
  readonly cacheInventory: () => CacheInventory | undefined;
}

/** The agent's metrics: one method per thing an edge observes. */
export interface AgentMetrics {
  /** `text/plain; version=0.0.4; charset=utf-8`. */
  readonly contentType: string;
  render(): Promise<string>;
  /** A decoded DHCP message arrived (`type` as the codec names it), or one that did not decode. */
  dhcpRequest(type: string): void;
  /** A DHCP reply was sent (`offer`, `ack`, `nak`). */
  dhcpReply(type: string): void;
  /** A TFTP read request ended: `bytes` acknowledged by the client, `ok` if complete. */
  tftpTransfer(transfer: { readonly ok: boolean; readonly bytes: number }): void;
  /** An HTTP boot request was answered with `status`. */
  httpBootRequest(status: number): void;
  /** HTTP boot body bytes written to a client. */
  httpBootBytes(bytes: number): void;
  /** A machine asked for an image file: was it in the cache already? */
  imageCacheLookup(hit: boolean): void;
  /** A controller's power command ended: `result` is `ok` or the error kind. */
  powerCommand(driver: string, action: string, result: string): void;
  /** One call into a power driver (every BMC operation, polls and retries included). */
  powerDriverCall(driver: string, action: string, result: string): void;
}

/** Creates the registry and every agent metric. */
export function createAgentMetrics(deps: AgentMetricsDeps): AgentMetrics {
  const registry = new Registry();
  const registers = [registry];
  const dhcpRequests = new Counter({
    name: 'ingot_dhcp_requests_total',
    help: 'DHCP messages received, by message type (undecodable: not a DHCP message).',
    labelNames: ['type'] as const,
    registers,
  });
  const dhcpReplies = new Counter({
    name: 'ingot_dhcp_replies_total',
    help: 'DHCP replies sent, by message type.',
    labelNames: ['type'] as const,
    registers,
  });
  const tftpRequests = new Counter({
    name: 'ingot_tftp_requests_total',
    help: 'TFTP read requests that ended, by result (ok: the whole file was acknowledged).',
    labelNames: ['result'] as const,
    registers,
  });
  const tftpBytes = new Counter({
    name: 'ingot_tftp_bytes_total',
    help: 'TFTP file bytes acknowledged by clients.',
    registers,
  });
  const httpRequests = new Counter({
    name: 'ingot_http_boot_requests_total',
    help: 'HTTP boot requests (kernels, initrds, images, boot configs), by status code.',
    labelNames: ['status'] as const,
    registers,
  });
  const httpBytes = new Counter({
    name: 'ingot_http_boot_bytes_total',
    help: 'HTTP boot body bytes sent to clients.',
    registers,
  });
  const cacheHits = new Counter({
    name: 'ingot_image_cache_hits_total',
    help: 'Image file requests by machines answered from the verified cache.',
    registers,
  });
  const cacheMisses = new Counter({
    name: 'ingot_image_cache_misses_total',
    help: 'Image file requests by machines for files not (yet) in the cache.',
    registers,
  });
  const powerCommands = new Counter({
    name: 'ingot_power_commands_total',
    help: 'Power commands from the controller that ended, by driver, action and result (ok or the error kind).',
    labelNames: ['driver', 'action', 'result'] as const,
    registers,
  });
  const powerDriverCalls = new Counter({
    name: 'ingot_power_driver_calls_total',
    help: 'Calls into power drivers (BMC operations, polls and retries included), by driver, action and result.',
    labelNames: ['driver', 'action', 'result'] as const,
    registers,
  });
  new Gauge({
    name: 'ingot_image_cache_bytes',
    help: 'Bytes of verified image files in the cache.',
    registers,
    collect() {
      const files = deps.cacheInventory()?.files ?? [];
      this.set(files.reduce((n, f) => n + f.sizeBytes, 0));
    },
  });
  new Gauge({
    name: 'ingot_image_cache_files',
    help: 'Verified image files in the cache.',
    registers,
    collect() {
      this.set(deps.cacheInventory()?.files.length ?? 0);
    },
  });
  new Gauge({
    name: 'ingot_image_cache_capacity_bytes',
    help: 'The cache budget (--image-cache-size); files boot plans use are kept beyond it.',
    registers,
    collect() {
      this.set(deps.cacheInventory()?.capacityBytes ?? 0);
    },
  });
  new Gauge({
    name: 'ingot_outbox_events',
    help: 'Events waiting in the outbox to be delivered to the controller.',
    registers,
    collect() {
      this.set(deps.outboxDepth());
    },
  });
  new Gauge({
    name: 'ingot_controller_session_up',
    help: '1 while a controller has welcomed the agent session, else 0.',
    registers,
    collect() {
      this.set(deps.sessionConnected() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'ingot_controller_session_info',
    help: '1 for the controller (gRPC host:port) holding the agent session; no series while there is none.',
    labelNames: ['controller'] as const,
    registers,
    collect() {
      this.reset();
      const controller = deps.sessionController?.();
      if (controller !== undefined) this.set({ controller }, 1);
    },
  });
  // Series that exist from the first scrape, so rate() and alerts see 0 rather than nothing.
  for (const type of DHCP_REQUEST_TYPES) dhcpRequests.inc({ type }, 0);
  for (const result of ['ok', 'failed']) tftpRequests.inc({ result }, 0);
  const knownDhcpType = new Set<string>(DHCP_REQUEST_TYPES);

  return {
    contentType: registry.contentType,
    render: () => registry.metrics(),
    dhcpRequest(type) {
      const label = knownDhcpType.has(type) || type === 'undecodable' ? type : 'other';
      dhcpRequests.inc({ type: label });
    },
    dhcpReply: (type) => dhcpReplies.inc({ type }),
    tftpTransfer(transfer) {
      tftpRequests.inc({ result: transfer.ok ? 'ok' : 'failed' });
      tftpBytes.inc(transfer.bytes);
    },
    httpBootRequest: (status) => httpRequests.inc({ status: String(status) }),
    httpBootBytes: (bytes) => httpBytes.inc(bytes),
    imageCacheLookup: (hit) => (hit ? cacheHits : cacheMisses).inc(),
    powerCommand: (driver, action, result) => powerCommands.inc({ driver, action, result }),
    powerDriverCall: (driver, action, result) => powerDriverCalls.inc({ driver, action, result }),
  };
}
