/**
 * The gRPC server rack agents talk to (DESIGN.md §4): `Register` for enrollment and one
 * `Session` stream per agent. Messages of a session are handled strictly in arrival order, so
 * events are stored in the order the agent sent them. A newer session of the same rack replaces
 * the older one.
 */
import { randomUUID } from 'node:crypto';
import {
  Server,
  ServerCredentials,
  status as GrpcStatus,
  type ServerDuplexStream,
  type ServiceError,
} from '@grpc/grpc-js';
import type { Logger } from '@ingot/common';
import {
  RackServiceService,
  type RackServiceServer,
  type SessionRequest,
  type SessionResponse,
} from '@ingot/proto/rack/v1';
import type { RackNotifier } from '../app/ports.ts';
import type { RackService } from '../app/rack-service.ts';
import type { SecretBox } from '../app/secret-box.ts';
import type { AuthLimiter } from '../app/auth-limiter.ts';
import { authenticateRackSecret, registerRack } from '../app/auth-limiter-credentials.ts';
import { peerAddress, tooManyAttempts } from './auth-limit.ts';
import type { RackAuthority } from '../pki/authority.ts';
import { rackServerCredentials, sessionPeer } from './rack-tls.ts';
import { SessionCommands } from './session-commands.ts';
import { SessionPower } from './session-power.ts';
import {
  commandToProto,
  healthFromProto,
  interfacesFromProto,
  powerResultFromProto,
  stepEventFromProto,
} from './convert.ts';

/** Options of {@link startRackServer}. */
export interface RackServerOptions {
  readonly host: string;
  readonly port: number;
  readonly heartbeatIntervalMs: number;
  /** Opens the sealed power parameters of commands as they are sent. */
  readonly secrets: SecretBox;
  /**
   * Mutual TLS (`rpc/rack-tls.ts`): the rack CA and the names of this controller's server
   * certificate. Undefined serves plaintext (`--insecure-grpc`, development and tests only).
   */
  readonly tls?:
    { readonly authority: RackAuthority; readonly altNames: readonly string[] } | undefined;
  /** Brute-force limits on enrollment tokens and rack secrets (`app/auth-limiter.ts`). */
  readonly authLimiter: AuthLimiter;
  /**
   * One live session per rack across controllers (`cluster/rack-session-leases.ts`). Default:
   * this controller alone (claims always succeed, a release always ends the rack's session).
   */
  readonly ownership?: RackSessionOwnership | undefined;
}

/** Who holds each rack's session when several controllers share the database. */
export interface RackSessionOwnership {
  /** Takes the rack's session for `sessionId`; a session of it elsewhere is ended. */
  claim(rackId: string, sessionId: string): Promise<void>;
  /** Ends the lease of `sessionId`; true if it still held it (the rack is now disconnected). */
  release(rackId: string, sessionId: string): Promise<boolean>;
}

const SOLE_OWNER: RackSessionOwnership = {
  claim: () => Promise.resolve(),
  release: () => Promise.resolve(true),
};

/** A running rack server. */
export interface RackServerHandle extends RackNotifier {
  readonly port: number;
  /** Rack ids with an open session on this controller. */
  connectedRacks(): string[];
  /** The sessions open on this controller, with their ids. */
  localSessions(): { rackId: string; sessionId: string }[];
  /** Ends the rack's session here if it is still `sessionId` (it moved to another controller). */
  endSession(rackId: string, sessionId: string, reason: string): void;
  close(): Promise<void>;
}

type Stream = ServerDuplexStream<SessionRequest, SessionResponse>;

class Session {
  readonly rackId: string;
  /** This session's id in the cluster's lease table. */
  readonly id = randomUUID();
  readonly #stream: Stream;
  readonly #racks: RackService;
  readonly #logger: Logger;
  readonly #power: SessionPower;
  readonly #commands: SessionCommands;
  /** Welcome sent: commands may go out (the Hello handler sends the ones pending before). */
  welcomed = false;
  #queue: Promise<void> = Promise.resolve();
  #open = true;

  constructor(
    rackId: string,
    stream: Stream,
    racks: RackService,
    logger: Logger,
    secrets: SecretBox,
  ) {
    this.rackId = rackId;
    this.#stream = stream;
    this.#racks = racks;
    this.#logger = logger;
    this.#power = new SessionPower(
      (machineIds) => racks.powerConfigs(rackId, machineIds),
      (m) => this.send(m),
      secrets,
    );
    this.#commands = new SessionCommands(
      () => racks.pendingCommands(rackId),
      (c) => this.send({ kind: { $case: 'command', value: commandToProto(c, secrets) } }),
      (e) => logger.warn('sending pending commands failed', { rackId, error: e }),
    );
  }

  get open(): boolean {
    return this.#open;
  }

  /** Runs `work` after everything queued before it. */
  enqueue(work: () => Promise<void>): void {
    this.#queue = this.#queue.then(work).catch((e: unknown) => {
      this.#logger.error('rack session handler failed', { rackId: this.rackId, error: e });
      this.end(GrpcStatus.INTERNAL, 'controller failed to handle a message; reconnect');
    });
  }

  /** Resolves when everything queued so far has run. */
  drained(): Promise<void> {
    return this.#queue;
  }

  send(message: SessionResponse): void {
    if (this.#open) this.#stream.write(message);
  }

  /** Sends every pending command not already sent on this session. */
  pushCommands(): Promise<void> {
    return this.#commands.push();
  }

  /** Sends pending commands beside the message queue (`session-commands.ts`), once welcomed. */
  pushCommandsSoon(): void {
    if (this.#open && this.welcomed) this.#commands.pushSoon();
  }

  /**
   * Sends the BMC access of every machine this rack serves, and removals for machines sent
   * before on this session that no longer have one. Not queued: every session gets them afresh,
   * and the agent keeps them in memory only.
   */
  pushPowerConfigs(): Promise<void> {
    return this.#power.push();
  }

  /**
   * Queues a push of `machineIds`' power configs (undefined: every machine's) unless one is
   * already queued and not yet started: then it takes these machines along.
   */
  schedulePowerConfigs(machineIds?: readonly string[]): void {
    if (this.#power.request(machineIds)) this.enqueue(() => this.#power.pushPending());
  }

  acked(ids: readonly string[]): void {
    this.#commands.acked(ids);
  }

  end(code?: GrpcStatus, detail?: string): void {
    if (!this.#open) return;
    this.#open = false;
    if (code === undefined) {
      this.#stream.end();
    } else {
      const error: Partial<ServiceError> = { code, details: detail ?? '', message: detail ?? '' };
      this.#stream.emit('error', error);
    }
  }
}

/** Starts the gRPC server for rack agents. */
export async function startRackServer(
  racks: RackService,
  logger: Logger,
  options: RackServerOptions,
): Promise<RackServerHandle> {
  const sessions = new Map<string, Session>();
  const ownership = options.ownership ?? SOLE_OWNER;
  const server = new Server({
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_timeout_ms': 5_000,
  });

  const impl: RackServiceServer = {
    register(call, callback) {
      const req = call.request;
      const limited = { racks, authLimiter: options.authLimiter };
      const input = {
        token: req.enrollmentToken,
        hostname: req.hostname,
        version: req.version,
        interfaces: interfacesFromProto(req.interfaces),
        existing: req.rackId === '' ? undefined : { rackId: req.rackId, secret: req.rackSecret },
      };
      const authority = options.tls?.authority;
      // Checked before the token is spent: a bad key must not cost the operator a token.
      const key = authority?.checkPublicKey(req.publicKeyPem);
      if (key !== undefined && !key.ok) {
        callback({
          code: GrpcStatus.INVALID_ARGUMENT,
          details: `this controller issues rack certificates: ${key.error.message}`,
        });
        return;
      }
      registerRack(limited, input, peerAddress(call.getPeer()))
        .then((result) => {
          if (!result.ok && result.error.kind === 'rate-limited') {
            callback(tooManyAttempts(result.error));
            return;
          }
          if (!result.ok) {
            callback({
              code: GrpcStatus.UNAUTHENTICATED,
              details: 'enrollment token is unknown, used or expired',
            });
            return;
          }
          const rackId = result.value.rack.id;
          const cert = authority?.issueRackCertificate(rackId, req.publicKeyPem, Date.now());
          if (cert !== undefined && !cert.ok) throw new Error(cert.error.message);
          logger.info('rack enrolled', { rackId, name: result.value.rack.name });
          callback(null, {
            rackId,
            rackSecret: result.value.secret,
            name: result.value.rack.name,
            clientCertPem: cert?.value ?? '',
            caCertPem: authority?.caCertPem ?? '',
          });
        })
        .catch((e: unknown) => {
          logger.error('register failed', { error: e });
          callback({ code: GrpcStatus.INTERNAL, details: 'registration failed' });
        });
    },

    session(stream) {
      const rackId = String(stream.metadata.get('x-ingot-rack-id')[0] ?? '');
      const secret = String(stream.metadata.get('x-ingot-rack-secret')[0] ?? '');
      let session: Session | undefined;
      const pending: SessionRequest[] = [];

      const handle = (s: Session, message: SessionRequest): void => {
        s.enqueue(() => onMessage(s, message));
      };

      if (options.tls !== undefined) {
        const peer = sessionPeer(stream, options.tls.authority, Date.now());
        if (!peer.ok || peer.value !== rackId) {
          const details = peer.ok
            ? `the client certificate names rack ${peer.value}, not ${rackId}`
            : peer.error.message;
          logger.warn('rack session refused', { rackId, reason: details });
          stream.emit('error', { code: GrpcStatus.UNAUTHENTICATED, details });
          return;
        }
      }
      const limited = { racks, authLimiter: options.authLimiter };
      authenticateRackSecret(limited, rackId, secret, peerAddress(stream.getPeer()))
        .then((auth) => {
          if (!auth.ok && auth.error.kind === 'rate-limited') {
            logger.warn('rack session refused: too many failures', { rackId });
            stream.emit('error', tooManyAttempts(auth.error));
            return;
          }
          if (!auth.ok) {
            logger.warn('rack session refused', { rackId });
            stream.emit('error', {
              code: GrpcStatus.UNAUTHENTICATED,
              details: 'unknown rack or wrong secret',
            });
            return;
          }
          const s = new Session(rackId, stream, racks, logger.child({ rackId }), options.secrets);
          // Take the rack's lease first: a session of it on another controller is ended there.
          return ownership.claim(rackId, s.id).then(async () => {
            if (streamClosed) {
              await ownership.release(rackId, s.id);
              return;
            }
            sessions
              .get(rackId)
              ?.end(GrpcStatus.ABORTED, 'replaced by a newer session of the same rack');
            sessions.set(rackId, s);
            session = s;
            for (const m of pending.splice(0)) handle(s, m);
          });
        })
        .catch((e: unknown) => {
          logger.error('rack authentication failed', { error: e });
          stream.emit('error', { code: GrpcStatus.INTERNAL, details: 'authentication failed' });
        });

      stream.on('data', (message: SessionRequest) => {
        if (session === undefined) pending.push(message);
        else handle(session, message);
      });
      let streamClosed = false;
      const closed = (): void => {
        streamClosed = true;
        const s = session;
        if (s === undefined) return;
        s.end();
        if (sessions.get(s.rackId) === s) {
          sessions.delete(s.rackId);
          // Disconnected only if no newer session (here or on another controller) took it over.
          s.enqueue(async () => {
            if (await ownership.release(s.rackId, s.id))
              await racks.sessionChanged(s.rackId, false);
          });
        }
      };
      stream.on('end', closed);
      stream.on('error', closed);
      stream.on('cancelled', closed);
    },
  };

  async function onMessage(s: Session, message: SessionRequest): Promise<void> {
    const kind = message.kind;
    if (kind === undefined) return;
    switch (kind.$case) {
      case 'hello':
        await racks.sessionChanged(s.rackId, true, {
          hostname: kind.value.hostname,
          version: kind.value.version,
          interfaces: interfacesFromProto(kind.value.interfaces),
          networkConfigVersion: kind.value.networkConfigVersion,
        });
        s.send({
          kind: {
            $case: 'welcome',
            value: { rackId: s.rackId, name: '', heartbeatIntervalMs: options.heartbeatIntervalMs },
          },
        });
        s.welcomed = true;
        await s.pushCommands();
        await s.pushPowerConfigs();
        return;
      case 'heartbeat':
        // A rack revoked through another controller is closed here within one heartbeat.
        if (!(await racks.mayConnect(s.rackId))) {
          s.end(GrpcStatus.UNAUTHENTICATED, 'this rack was revoked');
          return;
        }
        await racks.heartbeat(s.rackId, healthFromProto(kind.value));
        // Resend what is pending: commands queued through another controller whose wake-up
        // signal was lost still go out within one heartbeat.
        s.pushCommandsSoon();
        return;
      case 'events': {
        const events = kind.value.events.map(stepEventFromProto);
        await racks.recordEvents(s.rackId, events);
        // Acknowledge only after the events are durable; duplicates are acknowledged too, so the
        // agent can drop them.
        s.send({ kind: { $case: 'eventAck', value: { eventIds: events.map((e) => e.id) } } });
        return;
      }
      case 'powerResult':
        await racks.recordPowerResult(s.rackId, powerResultFromProto(kind.value));
        s.acked([kind.value.commandId]);
        return;
      case 'commandAck':
        await racks.ackCommands(s.rackId, kind.value.commandIds);
        s.acked(kind.value.commandIds);
        return;
      case 'leases':
        // Lease bookkeeping arrives with the network-boot work; acknowledge so the outbox drains.
        s.send({
          kind: { $case: 'eventAck', value: { eventIds: kind.value.leases.map((l) => l.id) } },
        });
        return;
      case 'cacheInventory':
        racks.recordCacheInventory(s.rackId, {
          capacityBytes: kind.value.capacityBytes,
          files: kind.value.files.map((f) => ({
            sha256: f.sha256,
            sizeBytes: f.sizeBytes,
            lastUsedMs: f.lastUsedMs,
          })),
        });
        return;
    }
  }

  server.addService(RackServiceService, impl);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `${options.host}:${options.port}`,
      options.tls === undefined
        ? ServerCredentials.createInsecure()
        : rackServerCredentials(
            options.tls.authority.caCertPem,
            options.tls.authority.issueServerCertificate(options.tls.altNames, Date.now()),
          ),
      (e, bound) => {
        if (e !== null) reject(e);
        else resolve(bound);
      },
    );
  });

  return {
    port,
    connectedRacks: () => [...sessions.keys()],
    localSessions: () => [...sessions.values()].map((s) => ({ rackId: s.rackId, sessionId: s.id })),
    endSession(rackId, sessionId, reason) {
      const s = sessions.get(rackId);
      if (s?.id === sessionId) s.end(GrpcStatus.ABORTED, reason);
    },
    commandsQueued(rackId) {
      sessions.get(rackId)?.pushCommandsSoon();
    },
    powerConfigsChanged(rackId, machineIds) {
      sessions.get(rackId)?.schedulePowerConfigs(machineIds);
    },
    rackRevoked(rackId) {
      sessions.get(rackId)?.end(GrpcStatus.UNAUTHENTICATED, 'this rack was revoked');
    },
    async close() {
      const open = [...sessions.values()];
      sessions.clear();
      for (const s of open) {
        s.end(GrpcStatus.UNAVAILABLE, 'controller shutting down');
        // Give the lease up now rather than when it expires, unless another session has it.
        s.enqueue(async () => {
          if (await ownership.release(s.rackId, s.id)) await racks.sessionChanged(s.rackId, false);
        });
      }
      await Promise.race([
        Promise.all(open.map((s) => s.drained())),
        new Promise((resolve) => setTimeout(resolve, 2000).unref()),
      ]);
      await new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        // Streams that do not end promptly are cut.
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000).unref();
      });
    },
  };
}
