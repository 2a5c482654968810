import { createJsonLogger, systemClock, type Clock, type Logger } from '@ingot/common';
import { orderedHttpUrls, validateAgentConfig, type AgentConfig, type HostPort } from './config.ts';
import { createCommandHandler } from './commands/command-handler.ts';
import type { RackIdentity } from './domain/identity.ts';
import { createEventRecorder, type EventRecorder } from './events/event-recorder.ts';
import { startHttpServer, createHttpApp, type HttpServerHandle } from './http/http-server.ts';
import { createMachineApi } from './http/machine-api.ts';
import { createBootEventSink } from './boot/boot-events.ts';
import { createBootResolver } from './boot/boot-resolver.ts';
import { createHttpBootApi } from './http-boot/http-boot-api.ts';
import { createTftpServer, type TftpServerHandle } from './tftp/server.ts';
import { startDhcpService, type DhcpService } from './dhcp/service.ts';
import { reportTftpFetch } from './tftp/boot-fetch.ts';
import { createUdpTransport } from './tftp/udp-transport.ts';
import { describeInterfaces, type InterfaceTable } from './net/interfaces.ts';
import type { PowerDriver } from './power/driver.ts';
import { createManualPowerDriver } from './power/drivers/manual.ts';
import { createIpmiPowerDriver } from './power/drivers/ipmi.ts';
import { createQemuPowerDriver } from './power/drivers/qemu.ts';
import { createRedfishPowerDriver } from './power/drivers/redfish.ts';
import { createWebhookPowerDriver } from './power/drivers/webhook.ts';
import { createPowerRegistry } from './power/registry.ts';
import { createPowerPoller } from './power/poller.ts';
import type { PowerReport } from './domain/commands.ts';
import type { SetPowerOptions } from './power/set-power.ts';
import { ensureIdentity, type EnrollError } from './rpc/enroll.ts';
import { createSessionClient, type SessionStatus } from './rpc/session-client.ts';
import { createRackClient } from './rpc/rack-client.ts';
import { rackCredentials, type RackTls } from './rpc/rack-tls.ts';
import { openAgentStore, type AgentStore } from './state/agent-store.ts';
import { createImageCache, type ImageCache } from './cache/image-cache.ts';
import { filesInPlans, prefetchFiles } from './cache/prefetch.ts';
import { createAgentMetrics } from './metrics/agent-metrics.ts';
import { instrumentImageSource, instrumentPowerDriver } from './metrics/instrument.ts';
import { agentRequestLog } from './metrics/request-log.ts';

/** How long applied command ids are remembered for deduplication. */
const APPLIED_COMMAND_RETENTION_MS = 30 * 24 * 3600 * 1000;

/** Optional collaborators; defaults are the real ones. */
export interface AgentDeps {
  readonly clock?: Clock;
  /** Defaults to JSON lines on stderr at `config.logLevel`. */
  readonly logger?: Logger;
  /** The registry's explicit list; defaults to the drivers this build ships (manual). */
  readonly powerDrivers?: readonly PowerDriver<unknown>[];
  /** Power retry/verify policy; tests shrink the delays. */
  readonly setPowerOptions?: SetPowerOptions;
  /** Aborting it closes the agent; during startup it also cancels enrollment retries. */
  readonly signal?: AbortSignal;
  /** `os.networkInterfaces()` stand-in for tests. */
  readonly interfaceTable?: InterfaceTable;
}

/** Why {@link startAgent} failed; branch on `kind`. */
export type AgentStartErrorKind =
  EnrollError['kind'] | 'invalid-config' | 'http-listen' | 'tftp-listen' | 'dhcp-listen';

/**
 * Thrown by {@link startAgent} for failures an operator must fix (bad flags, refused token,
 * port in use). The CLI prints `message` and exits non-zero.
 */
export class AgentStartError extends Error {
  readonly kind: AgentStartErrorKind;

  constructor(kind: AgentStartErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AgentStartError';
    this.kind = kind;
  }
}

/** A running agent. */
export interface AgentHandle {
  /** The rack id from enrollment. */
  rackId(): string | undefined;
  /** Where the machine-facing HTTP server listens (real port when 0 was configured). */
  readonly httpAddress: HostPort;
  /** Durable state, for inspection (tests, diagnostics). Closed by {@link AgentHandle.close}. */
  readonly store: AgentStore;
  /** Appends events to the outbox (future DHCP/TFTP services, tests). */
  readonly events: EventRecorder;
  /** Whether a controller session is established. */
  session(): SessionStatus;
  /** Stops the session, waits for running commands, closes HTTP and the store. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts a rack agent: opens `DATA/agent.db`, enrolls if it has no identity yet (retrying while
 * no controller answers), serves the machine-facing HTTP API, and holds the controller session
 * until closed. Throws {@link AgentStartError} for operator-fixable failures; everything after
 * startup (controller down, credentials refused) is logged and retried, never thrown.
 */
export async function startAgent(config: AgentConfig, deps: AgentDeps = {}): Promise<AgentHandle> {
  const valid = validateAgentConfig(config);
  if (!valid.ok) {
    throw new AgentStartError('invalid-config', `${valid.error.field}: ${valid.error.message}`);
  }
  const clock = deps.clock ?? systemClock;
  const logger =
    deps.logger ??
    createJsonLogger((line) => process.stderr.write(line), config.logLevel, {
      service: 'rack-agent',
    });
  // Gauges read state that exists only later (store, cache, session): through `live`.
  const live: { store?: AgentStore; images?: ImageCache; session?: () => SessionStatus } = {};
  /** Controller HTTP URLs, the session's controller first (config.ts `orderedHttpUrls`). */
  const currentHttpUrls = (): string[] => orderedHttpUrls(config, live.session?.().controller);
  const metrics = createAgentMetrics({
    outboxDepth: () => live.store?.outboxDepth() ?? 0,
    sessionConnected: () => live.session?.().connected ?? false,
    sessionController: () => live.session?.().controller,
    cacheInventory: () => live.images?.inventory(),
  });
  // Built first: a duplicate driver type is a bug that must stop us before any side effect.
  const registry = createPowerRegistry(
    (deps.powerDrivers ?? defaultPowerDrivers(logger)).map((d) =>
      instrumentPowerDriver(d, metrics),
    ),
  );
  const lifetime = new AbortController();
  const abortFromCaller = (): void => lifetime.abort();
  deps.signal?.addEventListener('abort', abortFromCaller, { once: true });
  if (deps.signal?.aborted === true) lifetime.abort();

  const store = openAgentStore({ dataDir: config.dataDir, clock });
  live.store = store;
  let identity: RackIdentity;
  let tls: RackTls | undefined;
  let http: HttpServerHandle;
  let tftp: TftpServerHandle | undefined;
  let dhcp: DhcpService | undefined;
  const recorder = createEventRecorder({ store, clock, logger });
  const interfaces = describeInterfaces(config.interfaces, logger, deps.interfaceTable);
  // Created before the session it reports through; `session` is assigned once enrolled.
  const reporter: {
    send?: (report: PowerReport) => boolean;
    inventory?: () => void;
    images?: ImageCache;
  } = {};
  const poller = createPowerPoller({
    registry,
    clock,
    logger: logger.child({ service: 'power-poll' }),
    intervalMs: config.powerPollIntervalMs,
    report: (report) => {
      reporter.send?.(report);
    },
  });
  const commands = createCommandHandler({
    store,
    registry,
    recorder,
    clock,
    logger,
    signal: lifetime.signal,
    onNetworkConfig: (network) => dhcp?.setNetwork(network),
    onReport: (request, report) =>
      metrics.powerCommand(
        request.driver,
        request.action,
        report.ok ? 'ok' : (report.errorKind ?? 'error'),
      ),
    onPowerConfig: (machineId, driver, params) => {
      poller.set(machineId, driver, params);
    },
    onPrefetch: (files, forMachine) => {
      if (reporter.images === undefined) return;
      // A plan whose file cannot be had (missing on the controller, or bytes that never match
      // their sha256) fails its machine's deployment now, with the reason, rather than at the
      // deadline: the machine would only ever get 404s for it.
      void prefetchFiles(reporter.images, files, logger, (file, error) => {
        if (forMachine === undefined) return;
        recorder.recordStatus({
          machineId: forMachine,
          step: 'image.fetch',
          result: 'failed',
          message: `image file ${file.name} (${file.role}, sha256 ${file.sha256}) is unusable: ${error.message}`,
          data: { sha256: file.sha256, role: file.role, reason: error.message },
        });
      });
    },
    ...(deps.setPowerOptions === undefined ? {} : { setPowerOptions: deps.setPowerOptions }),
  });
  try {
    store.pruneAppliedCommands(clock.now() - APPLIED_COMMAND_RETENTION_MS);
    const enrolled = await ensureIdentity({
      store,
      addresses: config.controllers,
      enrollmentToken: config.enrollmentToken,
      registration: { hostname: config.hostname, version: config.version, interfaces },
      reconnect: config.reconnect,
      logger,
      signal: lifetime.signal,
      tlsDir: config.insecureGrpc ? undefined : config.dataDir,
    });
    if (!enrolled.ok) throw new AgentStartError(enrolled.error.kind, enrolled.error.message);
    identity = enrolled.value.identity;
    tls = enrolled.value.tls;
    // Image files come from the controller with this rack's credentials (deploy-contract.md).
    const images = createImageCache({
      imageDir: config.imageDir,
      capacityBytes: config.imageCacheBytes,
      // The controller holding the session first: retries follow a failover.
      controllerHttpUrl: () => currentHttpUrls()[0] ?? '',
      authorization: `Rack ${identity.rackId}:${identity.rackSecret}`,
      pinned: () => filesInPlans(store.bootPlans()),
      clock,
      logger,
      signal: lifetime.signal,
      onChange: () => reporter.inventory?.(),
    });
    reporter.images = images;
    live.images = images;
    // Re-verify what is cached, then fetch what stored plans need; both in the background.
    void images
      .start()
      .then(() =>
        prefetchFiles(
          images,
          store.bootPlans().flatMap((p) => p.files),
          logger,
        ),
      )
      .catch((error: unknown) => logger.warn('prefetching stored plans failed', { error }));
    const app = createHttpApp(logger);
    app.use('*', agentRequestLog(logger.child({ component: 'http' })));
    app.route('/', createMachineApi({ store, recorder, logger }));
    // Prometheus scrapes the agent here, before HTTP boot's catch-all GET (docs/metrics.md).
    app.get('/metrics', async (c) =>
      c.body(await metrics.render(), 200, { 'content-type': metrics.contentType }),
    );
    // HTTP boot answers every other GET, so it is mounted last.
    const onBootFetch = createBootEventSink((event) => recorder.recordStatus(event), logger);
    if (config.dhcp !== undefined) {
      try {
        dhcp = await startDhcpService(
          {
            interfaces: config.interfaces,
            port: config.dhcp.port,
            proxyPort: config.dhcp.proxyPort,
            dataDir: config.dataDir,
            httpPort: config.http.port,
          },
          {
            store,
            recorder,
            clock,
            logger: logger.child({ service: 'dhcp' }),
            observe: {
              received: (type) => metrics.dhcpRequest(type),
              replied: (type) => metrics.dhcpReply(type),
            },
          },
        );
      } catch (error: unknown) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new AgentStartError(
          'dhcp-listen',
          `cannot serve DHCP on port ${config.dhcp.port}: ${reason}`,
          {
            cause: error,
          },
        );
      }
    }
    const resolver = createBootResolver({
      store,
      logger,
      config: { imageDir: config.imageDir, httpPort: config.http.port },
      macForAddress: (ip) => dhcp?.macForAddress(ip),
      images: instrumentImageSource(images, metrics),
    });
    app.route(
      '/',
      createHttpBootApi({
        resolver,
        onFetch: onBootFetch,
        logger,
        metadataProxy: { upstreamUrl: currentHttpUrls, timeoutMs: 30_000 },
        metrics: {
          request: (status) => metrics.httpBootRequest(status),
          bytesSent: (bytes) => metrics.httpBootBytes(bytes),
        },
      }),
    );
    try {
      http = await startHttpServer(app, config.http);
    } catch (error: unknown) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new AgentStartError(
        'http-listen',
        `cannot listen on ${config.http.host}:${config.http.port}: ${reason}`,
        { cause: error },
      );
    }
    if (config.tftp !== undefined) {
      const listen = config.tftp;
      try {
        tftp = await createTftpServer(
          { host: listen.host, port: listen.port },
          {
            resolver,
            createTransport: createUdpTransport,
            clock,
            logger: logger.child({ service: 'tftp' }),
            onTransfer: (report) => {
              metrics.tftpTransfer(report);
              reportTftpFetch(report, onBootFetch);
            },
          },
        ).start(lifetime.signal);
      } catch (error: unknown) {
        await http.close();
        const reason = error instanceof Error ? error.message : String(error);
        throw new AgentStartError(
          'tftp-listen',
          `cannot listen for TFTP on ${listen.host}:${listen.port}: ${reason}`,
          {
            cause: error,
          },
        );
      }
    }
  } catch (error: unknown) {
    deps.signal?.removeEventListener('abort', abortFromCaller);
    poller.close();
    await dhcp?.close();
    store.close();
    throw error;
  }

  const startedAtMs = clock.now();
  const session = createSessionClient({
    addresses: config.controllers,
    identity,
    store,
    recorder,
    commands,
    clock,
    logger,
    reconnect: config.reconnect,
    createClient: (address) => createRackClient(address, rackCredentials(tls)),
    cacheInventory: () => reporter.images?.inventory() ?? { files: [], capacityBytes: 0 },
    hello: () => ({
      version: config.version,
      hostname: config.hostname,
      interfaces,
      networkConfigVersion: store.networkConfig()?.version ?? 0,
    }),
    heartbeat: () => ({
      sentAtMs: clock.now(),
      uptimeSeconds: Math.max(0, Math.floor((clock.now() - startedAtMs) / 1000)),
      outboxDepth: store.outboxDepth(),
      bootPlans: store.bootPlanCount(),
      rssBytes: process.memoryUsage.rss(),
      // Services this agent runs without are reported as disabled rather than omitted.
      services: {
        http: 'ok',
        dhcp: dhcp === undefined ? 'disabled' : 'ok',
        tftp: tftp === undefined ? 'disabled' : 'ok',
        images: 'ok',
      },
    }),
  });
  reporter.send = (report) => session.sendPowerObservation(report);
  live.session = () => session.status();
  reporter.inventory = () => session.sendCacheInventory();
  const sessionLoop = session.run(lifetime.signal).catch((error: unknown) => {
    logger.error('session loop crashed', { error });
  });
  logger.info('rack agent started', {
    rackId: identity.rackId,
    http: `${http.address.host}:${http.address.port}`,
    controllers: config.controllers,
  });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      lifetime.abort();
      poller.close();
      await sessionLoop;
      await commands.idle();
      await reporter.images?.idle();
      await tftp?.close();
      await dhcp?.close();
      await http.close();
      store.close();
      logger.info('rack agent stopped');
    })();
    return closing;
  };
  // From here on, the caller's signal means "close", not just "stop retrying enrollment".
  deps.signal?.removeEventListener('abort', abortFromCaller);
  deps.signal?.addEventListener('abort', () => void close(), { once: true });
  if (deps.signal?.aborted === true) void close();

  return {
    rackId: () => identity.rackId,
    httpAddress: http.address,
    store,
    events: recorder,
    session: () => session.status(),
    close,
  };
}

/** The power drivers this build ships, in one explicit list (STYLE.md §4.4). */
export function defaultPowerDrivers(logger: Logger): PowerDriver<unknown>[] {
  return [
    createManualPowerDriver(),
    createIpmiPowerDriver({ logger: logger.child({ component: 'power.ipmi' }) }),
    createRedfishPowerDriver(),
    createWebhookPowerDriver(),
    createQemuPowerDriver(),
  ];
}
