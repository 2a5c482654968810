/**
 * The DHCP service as the agent runs it: listeners (one per served interface through the device
 * helper, or one plain socket when no interface is named), the lease book on disk, the network
 * config from the controller, and the callbacks that turn DHCP activity into outbox events.
 */
import { networkInterfaces } from 'node:os';
import type { Clock, Logger } from '@ingot/common';
import type { NetworkConfig } from '../domain/network-config.ts';
import type { MacAddress } from '../domain/mac-address.ts';
import type { EventRecorder } from '../events/event-recorder.ts';
import { createDeviceTransport } from '../net/device-transport.ts';
import { createUdpTransport } from '../net/udp-transport.ts';
import { startRaSender } from '../net/ra-sender.ts';
import type { AgentStore } from '../state/agent-store.ts';
import { compileNetwork, type DhcpHandlerOptions, type LocalAddress } from './handler/network.ts';
import { openLeaseFile } from './lease-file.ts';
import { createLeaseBook } from './leases.ts';
import { createDhcpServer, type DhcpListener, type DhcpServerEvents } from './server.ts';

/** DHCP settings. */
export interface DhcpServiceConfig {
  /** Interfaces to serve by name; empty: one socket on all interfaces (a single segment). */
  readonly interfaces: readonly string[];
  /** Server port (67; tests use others). proxyDHCP also listens on `proxyPort`. */
  readonly port: number;
  readonly proxyPort?: number | undefined;
  readonly dataDir: string;
  /** The agent's HTTP port, for the iPXE script URL handed to clients. */
  readonly httpPort: number;
  /** Send router advertisements on the served interfaces (default true). */
  readonly routerAdvertisements?: boolean | undefined;
}

/** A running DHCP service. */
export interface DhcpService {
  /** Applies a network config the controller pushed. */
  setNetwork(config: NetworkConfig): void;
  /** The MAC holding a lease for `ip`, for attributing TFTP fetches. */
  macForAddress(ip: string): MacAddress | undefined;
  close(): Promise<void>;
}

const EMPTY: NetworkConfig = { version: 0, subnets: [], reservations: [] };

function localAddresses(interfaces: readonly string[]): LocalAddress[] {
  const table = networkInterfaces();
  const names = interfaces.length > 0 ? interfaces : Object.keys(table);
  return names.flatMap((ifName) =>
    (table[ifName] ?? [])
      .filter((a) => a.family === 'IPv4' && !a.internal)
      .map((a) => ({ ifName, address: a.address })),
  );
}

/** Starts DHCP. Rejects when a socket cannot be bound (port in use, no permission). */
export async function startDhcpService(
  config: DhcpServiceConfig,
  deps: {
    store: AgentStore;
    recorder: EventRecorder;
    clock: Clock;
    logger: Logger;
    /** Told about every datagram and reply (the agent's metrics). */
    observe?: Pick<DhcpServerEvents, 'received' | 'replied'>;
  },
): Promise<DhcpService> {
  const { store, recorder, logger } = deps;
  const options = (): DhcpHandlerOptions => ({
    localAddresses: localAddresses(config.interfaces),
    ipxeScriptUrl: `http://{agent}:${config.httpPort}/ipxe/script?mac={mac}`,
    httpBootUrl: `http://{agent}:${config.httpPort}/{file}`,
  });
  const listeners: DhcpListener[] = [];
  const ports = [config.port, ...(config.proxyPort === undefined ? [] : [config.proxyPort])];
  try {
    for (const localPort of ports) {
      if (config.interfaces.length === 0) {
        listeners.push({
          transport: await createUdpTransport({ port: localPort, broadcast: true }),
          localPort,
        });
      } else {
        for (const ifName of config.interfaces) {
          listeners.push({
            transport: await createDeviceTransport({ ifName, port: localPort, logger }),
            localPort,
          });
        }
      }
    }
  } catch (error: unknown) {
    await Promise.all(listeners.map((l) => l.transport.close()));
    throw error;
  }
  // Boot segments get router advertisements so iPXE does not wait for IPv6 (see ra-sender.ts).
  // Only on named interfaces: on "all interfaces" the agent cannot tell boot segments apart.
  const raSenders =
    config.routerAdvertisements === false
      ? []
      : config.interfaces.map((ifName) => startRaSender(ifName, logger));
  const persistence = openLeaseFile(config.dataDir);
  const leases = createLeaseBook(persistence);
  const server = createDhcpServer({
    listeners,
    leases,
    network: compileNetwork(store.networkConfig() ?? EMPTY, options()),
    machineFor: (mac) => store.bootPlanByMac(mac)?.machineId,
    clock: deps.clock,
    logger,
    events: {
      ...deps.observe,
      ack: (a) => {
        recorder.recordStatus({
          ...(a.machineId === undefined ? {} : { machineId: a.machineId }),
          mac: a.mac,
          step: 'dhcp.ack',
          result: 'succeeded',
          message: `Performing PXE boot: ${a.ip} on ${a.subnetCidr}${a.bootFile === '' ? '' : `, boot file ${a.bootFile}`}`,
          data: { ip: a.ip, subnet: a.subnetCidr, clientArch: a.clientArch, bootFile: a.bootFile },
        });
      },
      lease: ({ action, lease }) => {
        if (lease.mac === '') return;
        recorder.recordLease({
          mac: lease.mac,
          ip: lease.ip,
          subnetCidr: lease.subnetCidr,
          action,
          expiresAtMs: lease.expiresAtMs,
          hostname: lease.hostname,
          clientArch: lease.clientArch,
        });
      },
      enlist: (e) => {
        recorder.recordStatus({
          mac: e.mac,
          step: 'enlist',
          result: 'info',
          message: `Unknown machine ${e.mac} network-booted on ${e.subnetCidr}`,
          data: {
            arch: archName(e.clientArch),
            clientArch: e.clientArch,
            vendorClass: e.vendorClass,
          },
        });
      },
    },
  });
  return {
    setNetwork(network) {
      server.setNetwork(compileNetwork(network, options()));
    },
    macForAddress(ip) {
      const lease = leases.byIp(ip);
      return lease === undefined || lease.mac === '' ? undefined : lease.mac;
    },
    async close() {
      await server.close();
      await Promise.all(raSenders.map((ra) => ra.close()));
      persistence.close();
    },
  };
}

/** RFC 4578 §2.1 client architecture → Debian architecture name. */
function archName(clientArch: number): string {
  switch (clientArch) {
    case 0:
    case 6:
    case 7:
    case 9:
    case 16:
      return 'amd64';
    case 11:
    case 19:
      return 'arm64';
    default:
      return 'amd64';
  }
}
