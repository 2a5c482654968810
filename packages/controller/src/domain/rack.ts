/** Rack agents as the controller knows them. */
import type { RackNetworkConfig, Subnet } from './network/subnet.ts';
import type { BootResourceFile } from './image/boot-resource.ts';

/** A rack's self-reported health, from its last heartbeat. */
export interface RackHealth {
  readonly uptimeSeconds: number;
  readonly outboxDepth: number;
  readonly bootPlans: number;
  readonly rssBytes: number;
  readonly services: Readonly<Record<string, string>>;
}

/** What a rack's image cache holds, as it last reported (proto `CacheInventory`). */
export interface RackImageCache {
  readonly capacityBytes: number;
  readonly files: readonly {
    readonly sha256: string;
    readonly sizeBytes: number;
    readonly lastUsedMs: number;
  }[];
  /** When the controller received the report. */
  readonly reportedAtMs: number;
}

/** A network interface a rack serves. */
export interface RackInterface {
  readonly name: string;
  readonly mac: string;
  readonly cidrs: readonly string[];
}

/** An enrolled rack agent. */
export interface Rack {
  readonly id: string;
  readonly name: string;
  readonly secretHash: string;
  readonly hostname: string;
  readonly version: string;
  readonly interfaces: readonly RackInterface[];
  readonly createdAtMs: number;
  readonly lastSeenAtMs: number | null;
  readonly connected: boolean;
  readonly health: RackHealth | null;
  /** Version of the network config last queued for this rack (0: none). */
  readonly networkConfigVersion: number;
  /** When an admin revoked the rack; a revoked rack's sessions and downloads are refused. */
  readonly revokedAtMs?: number;
}

/** Kinds of work the controller asks a rack to do (the proto `Command` oneof, in domain terms). */
export type RackCommandBody =
  | {
      readonly kind: 'boot-plan';
      readonly machineId: string;
      readonly macs: readonly string[];
      readonly purpose: string;
      readonly os: string;
      readonly release: string;
      readonly arch: string;
      readonly hostname: string;
      readonly version: number;
      /** The files to boot (kernel, initrd, squashfs …) by sha256; empty boots the local disk. */
      readonly files?: readonly BootResourceFile[] | undefined;
      readonly kernelParams?: string | undefined;
      /**
       * The machine's metadata token (docs/deploy-contract.md), for boot environments that talk
       * to the metadata service. A secret: never logged, never in events.
       */
      readonly metadataToken?: string | undefined;
    }
  | { readonly kind: 'remove-boot-plan'; readonly machineId: string }
  | {
      readonly kind: 'network-config';
      readonly version: number;
      readonly subnets: readonly Subnet[];
      readonly reservations: RackNetworkConfig['reservations'];
    }
  | {
      readonly kind: 'power';
      readonly machineId: string;
      readonly action: 'on' | 'off' | 'cycle' | 'query';
      readonly driver: string;
      readonly params: Readonly<Record<string, unknown>>;
      readonly pxeOnce: boolean;
    };

/** A command queued for a rack. It is resent on every session until the rack acknowledges it. */
export interface RackCommand {
  readonly seq: number;
  readonly id: string;
  readonly rackId: string;
  readonly machineId: string | null;
  readonly body: RackCommandBody;
  readonly createdAtMs: number;
  readonly ackedAtMs: number | null;
}

/** Whether a rack counts as healthy: connected and heard from within three heartbeats. */
export function rackStatus(
  rack: Rack,
  nowMs: number,
  heartbeatIntervalMs: number,
): 'healthy' | 'stale' | 'disconnected' {
  if (!rack.connected) return 'disconnected';
  if (rack.lastSeenAtMs === null || nowMs - rack.lastSeenAtMs > 3 * heartbeatIntervalMs) {
    return 'stale';
  }
  return 'healthy';
}
