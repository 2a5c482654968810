/**
 * The controller's composition root: opens the store, builds the services, and starts the HTTP
 * API (with `/ws`), the gRPC server for racks and the timeout sweeper. Nothing else wires
 * dependencies together.
 */
import { mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { systemClock, type Clock, type Logger } from '@ingot/common';
import { createApi } from './api/app.ts';
import { MachineService } from './app/machine-service.ts';
import { createMemoryEventBus } from './app/memory-event-bus.ts';
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
import { startRackServer } from './rpc/rack-server.ts';
import { openSqliteStore } from './store/sqlite.ts';
import { createPostgresDatabase, isPostgresUrl, openPostgresStore } from './store/postgres.ts';
import { openFsBlobStore } from './store/fs-blob-store.ts';
import { openSqlBlobStore } from './store/sql-blobs.ts';
import { attachEventStream } from './ws/event-stream.ts';
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
}

/** A running controller. */
export interface ControllerHandle {
  readonly httpUrl: string;
  readonly grpcAddress: string;
  /** Path of the admin key file, written on first start. */
  readonly adminKeyFile: string;
  /** True if this start created the admin user (and wrote the key file). */
  readonly createdAdmin: boolean;
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
  const bus = createMemoryEventBus((e) => logger.error('event listener failed', { error: e }));
  const timeouts: StatusTimeouts = { ...DEFAULT_TIMEOUTS, ...config.timeouts };
  const heartbeatIntervalMs = config.heartbeatIntervalMs ?? 5000;
  // The rack server is created after the services that notify it; this forwards to it.
  const late: { notifier?: RackNotifier } = {};
  const racksNotifier: RackNotifier = {
    commandsQueued: (id) => late.notifier?.commandsQueued(id),
    powerConfigsChanged: (id) => late.notifier?.powerConfigsChanged(id),
  };

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
    enrollmentTokenTtlMs: 24 * 3600_000,
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
  const metadata = new MetadataService({ store, bus, racks: racksNotifier, clock, timeouts });

  const adminKeyFile = join(config.dataDir, 'admin.key');
  const adminKey = await users.bootstrapAdmin();
  if (adminKey !== undefined) {
    writeFileSync(adminKeyFile, adminKey + '\n', { mode: 0o600 });
    chmodSync(adminKeyFile, 0o600);
  }

  const rackServer = await startRackServer(racks, logger.child({ component: 'rpc' }), {
    host: config.grpc.host,
    port: config.grpc.port,
    heartbeatIntervalMs,
    secrets,
    authLimiter,
  });
  late.notifier = rackServer;
  const metrics = createControllerMetrics({
    bus,
    store,
    rackSessions: () => rackServer.connectedRacks().length,
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
      allocationNotes: new AllocationNoteService({ store }),
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
  );

  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const httpUrl = `http://${host}:${address.port}`;
  logger.info('controller started', {
    http: httpUrl,
    grpcPort: rackServer.port,
    dataDir: config.dataDir,
  });

  return {
    httpUrl,
    grpcAddress: `${config.grpc.host}:${rackServer.port}`,
    adminKeyFile,
    createdAdmin: adminKey !== undefined,
    async close() {
      abort.abort();
      metrics.close();
      closeWs();
      await rackServer.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await store.close();
      await blobDb?.destroy();
    },
  };
}
