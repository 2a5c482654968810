/**
 * The controller's composition root: opens the store, builds the services, and starts the HTTP
 * API (with `/ws`), the gRPC server for racks and the timeout sweeper. Nothing else wires
 * dependencies together.
 */
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { systemClock, type Clock, type Logger } from '@ingot/common';
import { createApi } from './api/app.ts';
import { MachineService } from './app/machine-service.ts';
import type { RackNotifier, Store } from './app/ports.ts';
import { RackService } from './app/rack-service.ts';
import { startTimeoutSweeper } from './app/timeout-sweeper.ts';
import { DEFAULT_TIMEOUTS, type StatusTimeouts } from './app/transition-runner.ts';
import { UserService } from './app/user-service.ts';
import { SubnetService } from './app/subnet-service.ts';
import { ImageService } from './app/image-service.ts';
import { SshKeyService } from './app/ssh-key-service.ts';
import { MetadataService } from './app/metadata-service.ts';
import { AllocationNoteService } from './app/allocation-note-service.ts';
import { SessionService } from './app/session-service.ts';
import { AuthLimiter } from './app/auth-limiter.ts';
import { createSecretBox } from './app/secret-box.ts';
import { loadOrCreateSecretKey } from './secret-key-file.ts';
import { startRackServer, type RackServerHandle } from './rpc/rack-server.ts';
import { loadOrCreateAuthority, serverAltNames } from './pki/authority.ts';
import { openSqliteStore } from './store/sqlite.ts';
import { createPostgresDatabase, isPostgresUrl, openPostgresStore } from './store/postgres.ts';
import { openFsBlobStore } from './store/fs-blob-store.ts';
import { openSqlBlobStore } from './store/sql-blobs.ts';
import { attachEventStream } from './ws/event-stream.ts';
import { startCluster } from './cluster/cluster.ts';
import { powerConfigsSignal } from './cluster/signals.ts';
import { startEventFeed } from './cluster/event-feed.ts';
import { createControllerInstance } from './cluster/instance.ts';
import { startRackSessionLeases } from './cluster/rack-session-leases.ts';
import { createControllerMetrics } from './metrics/controller-metrics.ts';

/** Everything a controller needs to start. Built by the CLI from flags and environment. */
export interface ControllerConfig {
  readonly dataDir: string;
  readonly http: { readonly host: string; readonly port: number };
  readonly grpc: { readonly host: string; readonly port: number };
  /** `sqlite:FILE` (default `sqlite:DATA/ingot.db`) or `postgres://USER[:PASS]@HOST:PORT/DB`. */
  readonly db?: string | undefined;
  readonly timeouts?: Partial<StatusTimeouts> | undefined;
  readonly heartbeatIntervalMs?: number | undefined;
  readonly sweepIntervalMs?: number | undefined;
  readonly maxBodyBytes?: number | undefined;
  /** The built web UI served at `/` (default `packages/ui/dist`). */
  readonly uiDir?: string | undefined;
  /** This controller's name among several (`--name`; default the host name). */
  readonly name?: string | undefined;
  /** How long a rack's session lease lasts without renewal (default 15 s). */
  readonly sessionLeaseMs?: number | undefined;
  /**
   * Serve the rack gRPC port in plaintext, without certificates (development and tests only).
   * Default: mutual TLS with the rack CA (`pki/`).
   */
  readonly insecureGrpc?: boolean | undefined;
  /** More names or addresses agents use to reach this controller, for its server certificate. */
  readonly advertise?: readonly string[] | undefined;
}

/** A running controller. */
export interface ControllerHandle {
  readonly httpUrl: string;
  readonly grpcAddress: string;
  /** Path of the admin key file, written on first start. */
  readonly adminKeyFile: string;
  /** True if this start created the admin user (and wrote the key file). */
  readonly createdAdmin: boolean;
  /** The rack CA's pin (`sha256:<hex>`), carried by enrollment tokens; undefined in plaintext. */
  readonly rackCaPin: string | undefined;
  close(): Promise<void>;
}

/** Opens the store a `--db` value names. */
async function openStore(config: ControllerConfig): Promise<Store> {
  const db = config.db ?? `sqlite:${join(config.dataDir, 'ingot.db')}`;
  if (db.startsWith('sqlite:')) return openSqliteStore(db.slice('sqlite:'.length));
  if (isPostgresUrl(db)) return openPostgresStore(db);
  throw new Error(`unsupported --db ${db}: use sqlite:FILE or postgres://USER@HOST:PORT/DB`);
}

/** Starts a controller. Resolves when every listener is up. */
export async function startController(
  config: ControllerConfig,
  logger: Logger,
  clock: Clock = systemClock,
): Promise<ControllerHandle> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  // BMC passwords are sealed with this key (DESIGN.md §7); made on first start, never replaced.
  const secrets = createSecretBox(loadOrCreateSecretKey(join(config.dataDir, 'secrets.key')).key);
  const store = await openStore(config);
  // The rack CA, shared through the database by every controller on it (pki/authority.ts).
  const authority =
    config.insecureGrpc === true
      ? undefined
      : await loadOrCreateAuthority(store.rackTrust, secrets, clock.now());
  // Several controllers on one PostgreSQL act as one (cluster/): events, rack wake-ups and
  // session moves are signalled between them; on SQLite the controller is alone.
  const instance = createControllerInstance(config.name);
  const cluster = await startCluster({
    instance,
    logger: logger.child({ component: 'cluster' }),
    postgresUrl: config.db !== undefined && isPostgresUrl(config.db) ? config.db : undefined,
  });
  // Events reach `/ws` and metrics from the log in seq order, whoever wrote them.
  const bus = await startEventFeed({
    log: store,
    signals: cluster.signals,
    logger: logger.child({ component: 'events' }),
  });
  const timeouts: StatusTimeouts = { ...DEFAULT_TIMEOUTS, ...config.timeouts };
  const heartbeatIntervalMs = config.heartbeatIntervalMs ?? 5000;
  // The rack server is created after the services that notify it; this forwards to it.
  const late: { notifier?: RackServerHandle } = {};
  // Rack wake-ups go to every controller: the one holding the rack's session acts on them.
  const racksNotifier: RackNotifier = {
    commandsQueued: (rackId) => cluster.signals.publish({ kind: 'rack-commands', rackId }),
    powerConfigsChanged: (rackId, machineIds) =>
      cluster.signals.publish(powerConfigsSignal(rackId, machineIds)),
    rackRevoked: (rackId) => cluster.signals.publish({ kind: 'rack-revoked', rackId }),
  };
  const unsubscribeRacks = cluster.signals.subscribe((message) => {
    const notifier = late.notifier;
    if (notifier === undefined) return;
    if (message.kind === 'rack-commands') notifier.commandsQueued(message.rackId);
    else if (message.kind === 'rack-power-configs')
      notifier.powerConfigsChanged(message.rackId, message.machineIds);
    else if (message.kind === 'rack-revoked') notifier.rackRevoked?.(message.rackId);
    // Power signals name only the machines that changed, so one lost while the channel was down
    // is not repaired by the next: resend every machine's BMC access to the racks held here.
    else if (message.kind === 'resync')
      for (const rackId of notifier.connectedRacks()) notifier.powerConfigsChanged(rackId);
  });

  const users = new UserService({ store, bus, clock });
  // Brute-force limits on every credential, counted in the (shared) database.
  const authLimiter = new AuthLimiter({
    store,
    bus,
    clock,
    logger: logger.child({ component: 'auth' }),
  });
  const machines = new MachineService({
    store,
    bus,
    racks: racksNotifier,
    clock,
    timeouts,
    secrets,
  });
  const resealed = await machines.sealStoredPowerParams();
  if (resealed > 0) logger.info('sealed stored power parameters', { machines: resealed });
  const racks = new RackService({
    store,
    bus,
    racks: racksNotifier,
    clock,
    logger: logger.child({ component: 'racks' }),
    timeouts,
    secrets,
    enrollmentTokenTtlMs: 24 * 3600_000,
    caPin: authority?.pin,
  });

  const subnets = new SubnetService({ store, bus, racks: racksNotifier, clock });
  // Image files by sha256 (DESIGN.md §6); racks fetch them into their caches. On PostgreSQL they
  // live in the database, so every controller on it serves every file; uploads hold a connection
  // while the body arrives, hence a small pool of their own beside the API's.
  const blobDb =
    config.db !== undefined && isPostgresUrl(config.db)
      ? createPostgresDatabase(config.db, { maxConnections: 4 })
      : undefined;
  const blobs =
    blobDb === undefined
      ? openFsBlobStore(join(config.dataDir, 'images'))
      : openSqlBlobStore(blobDb);
  const images = new ImageService({ store, bus, clock, blobs });
  const sshKeys = new SshKeyService({ store, bus, clock });
  const metadata = new MetadataService({
    store,
    bus,
    racks: racksNotifier,
    clock,
    timeouts,
    secrets,
  });

  const adminKeyFile = join(config.dataDir, 'admin.key');
  const adminKey = await users.bootstrapAdmin();
  if (adminKey !== undefined) {
    writeFileSync(adminKeyFile, adminKey + '\n', { mode: 0o600 });
    chmodSync(adminKeyFile, 0o600);
  } else if (!existsSync(adminKeyFile)) {
    logger.info(
      'the admin user already exists (made by another controller on this database or an earlier ' +
        'start); no admin.key is written here. Copy admin.key from the controller that made it, ' +
        'or mint a key with `ingot users api-key` using an admin key',
      { adminKeyFile },
    );
  }

  const leases = startRackSessionLeases({
    store: store.cluster,
    signals: cluster.signals,
    instance,
    leadership: cluster.leadership,
    clock,
    logger: logger.child({ component: 'cluster' }),
    leaseMs: config.sessionLeaseMs,
    // Its controller died and the agent did not connect elsewhere: the rack is disconnected.
    onExpired: (lease) => racks.sessionChanged(lease.rackId, false),
  });

  const rackServer = await startRackServer(racks, logger.child({ component: 'rpc' }), {
    host: config.grpc.host,
    port: config.grpc.port,
    heartbeatIntervalMs,
    secrets,
    tls:
      authority === undefined
        ? undefined
        : { authority, altNames: serverAltNames(config.grpc.host, config.advertise ?? []) },
    authLimiter,
    ownership: leases,
  });
  late.notifier = rackServer;
  leases.attach({
    list: () => rackServer.localSessions(),
    end: (rackId, sessionId, reason) => rackServer.endSession(rackId, sessionId, reason),
  });
  const metrics = createControllerMetrics({
    bus,
    store,
    rackSessions: () => rackServer.connectedRacks().length,
    cluster: {
      instanceId: instance.id,
      name: instance.name,
      isLeader: () => cluster.leadership.isLeader(),
      listening: () => cluster.signals.connected(),
    },
  });

  const api = createApi(
    {
      machines,
      racks,
      users,
      subnets,
      images,
      sshKeys,
      metadata,
      allocationNotes: new AllocationNoteService({ store, bus, clock }),
      store,
      clock,
      heartbeatIntervalMs,
      maxBodyBytes: config.maxBodyBytes ?? 1 << 20,
      metrics,
      sessions: new SessionService({ store, bus, clock, limiter: authLimiter }),
      authLimiter,
      uiDir: config.uiDir,
    },
    logger.child({ component: 'api' }),
  );
  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: api.fetch, hostname: config.http.host, port: config.http.port }, () =>
      resolve(s as Server),
    );
  });
  const closeWs = attachEventStream(server, {
    bus,
    store,
    users,
    authLimiter,
    machines,
    logger: logger.child({ component: 'ws' }),
  });

  const abort = new AbortController();
  startTimeoutSweeper(
    { store, machines, clock, logger },
    config.sweepIntervalMs ?? 1000,
    abort.signal,
    () => cluster.leadership.isLeader(),
  );

  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const httpUrl = `http://${host}:${address.port}`;
  logger.info('controller started', {
    instance: instance.id,
    name: instance.name,
    cluster: config.db !== undefined && isPostgresUrl(config.db),
    http: httpUrl,
    grpcPort: rackServer.port,
    dataDir: config.dataDir,
  });

  return {
    httpUrl,
    grpcAddress: `${config.grpc.host}:${rackServer.port}`,
    adminKeyFile,
    createdAdmin: adminKey !== undefined,
    rackCaPin: authority?.pin,
    async close() {
      abort.abort();
      leases.close();
      metrics.close();
      closeWs();
      await rackServer.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      unsubscribeRacks();
      bus.close();
      await cluster.close();
      await store.close();
      await blobDb?.destroy();
    },
  };
}
