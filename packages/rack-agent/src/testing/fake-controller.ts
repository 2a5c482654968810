import { randomUUID } from 'node:crypto';
import {
  Server,
  ServerCredentials,
  status as Status,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type sendUnaryData,
} from '@grpc/grpc-js';
import {
  RackServiceService,
  type Command,
  type Heartbeat,
  type Hello,
  type LeaseEvent,
  type PowerResult,
  type RackServiceServer,
  type RegisterRequest,
  type RegisterResponse,
  type SessionRequest,
  type SessionResponse,
  type StatusEvent,
} from '@ingot/proto/rack/v1';

/** Options of {@link FakeController}. */
export interface FakeControllerOptions {
  /** One-time enrollment tokens the controller accepts. */
  readonly enrollmentTokens?: readonly string[];
  /** Heartbeat interval sent in Welcome. */
  readonly heartbeatIntervalMs?: number;
  /** Acknowledge events as they arrive (default true). */
  readonly autoAck?: boolean;
}

/** One agent session as the fake controller sees it. */
export interface FakeSession {
  readonly rackId: string;
  /** Every message received, in order. */
  readonly requests: SessionRequest[];
  /** False once the stream ended either way. */
  open: boolean;
  send(response: SessionResponse): void;
  /** Ends the stream cleanly (status OK). */
  end(): void;
  /** Ends the stream with an error status. */
  fail(code: Status, details?: string): void;
}

/**
 * An in-process controller for agent tests: a real grpc-js server implementing
 * `RackServiceService` on 127.0.0.1. It keeps its state (racks, events) across
 * {@link FakeController.stop} and {@link FakeController.start}, so a test can restart "the
 * controller" on the same port. Events are deduplicated by id like the real one, but every
 * receipt is also logged, so tests can see resends.
 */
export class FakeController {
  readonly registerCalls: RegisterRequest[] = [];
  readonly sessions: FakeSession[] = [];
  /** Status events by id, first receipt wins (the controller's dedup). */
  readonly events = new Map<string, StatusEvent>();
  /** Every status event receipt, duplicates included, in arrival order. */
  readonly eventLog: StatusEvent[] = [];
  readonly leases = new Map<string, LeaseEvent>();
  readonly hellos: Hello[] = [];
  readonly heartbeats: Heartbeat[] = [];
  readonly powerResults: PowerResult[] = [];
  /** Acknowledged command ids, in arrival order (duplicates included). */
  readonly commandAcks: string[] = [];
  /** Rack secrets by rack id; delete one to make its sessions UNAUTHENTICATED. */
  readonly racks = new Map<string, string>();
  autoAck: boolean;
  heartbeatIntervalMs: number;
  #tokens: Set<string>;
  #server: Server | undefined;
  #port = 0;
  #waiters = new Set<() => void>();

  constructor(options: FakeControllerOptions = {}) {
    this.#tokens = new Set(options.enrollmentTokens ?? []);
    this.autoAck = options.autoAck ?? true;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 60_000;
  }

  /** `127.0.0.1:PORT` once started. */
  get address(): string {
    return `127.0.0.1:${this.#port}`;
  }

  /** Adds a one-time enrollment token. */
  addToken(token: string): void {
    this.#tokens.add(token);
  }

  /** Listens on `port` (default: the previous port, or an ephemeral one). Returns the address. */
  async start(port = this.#port): Promise<string> {
    const server = new Server();
    const implementation: RackServiceServer = {
      register: (call, callback) => this.#register(call, callback),
      session: (call) => this.#session(call),
    };
    server.addService(RackServiceService, implementation);
    this.#port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (error, bound) =>
        error === null ? resolve(bound) : reject(error),
      );
    });
    this.#server = server;
    return this.address;
  }

  /** Drops every connection at once, like a crashed controller. */
  stop(): Promise<void> {
    for (const session of this.sessions) session.open = false;
    this.#server?.forceShutdown();
    this.#server = undefined;
    this.#changed();
    return Promise.resolve();
  }

  /** Sessions still open. */
  openSessions(): FakeSession[] {
    return this.sessions.filter((session) => session.open);
  }

  /** Sends `command` on the newest open session, waiting for one. */
  async sendCommand(command: Command, timeoutMs = 5000): Promise<FakeSession> {
    const session = await this.waitFor(() => this.openSessions().at(-1), {
      timeoutMs,
      what: 'an open session',
    });
    session.send({ kind: { $case: 'command', value: command } });
    return session;
  }

  /**
   * Resolves with the first truthy result of `probe`, re-evaluated whenever the controller
   * receives something or a session opens or closes; rejects after `timeoutMs`.
   */
  waitFor<T>(
    probe: () => T | undefined | null | false,
    options: { readonly timeoutMs?: number; readonly what?: string } = {},
  ): Promise<T> {
    const timeoutMs = options.timeoutMs ?? 5000;
    return new Promise<T>((resolve, reject) => {
      const check = (): void => {
        const value = probe();
        if (value === undefined || value === null || value === false) return;
        this.#waiters.delete(check);
        clearTimeout(timer);
        resolve(value);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(
          new Error(`timed out after ${timeoutMs} ms waiting for ${options.what ?? 'condition'}`),
        );
      }, timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }

  #changed(): void {
    for (const check of [...this.#waiters]) check();
  }

  #register(
    call: ServerUnaryCall<RegisterRequest, RegisterResponse>,
    callback: sendUnaryData<RegisterResponse>,
  ): void {
    this.registerCalls.push(call.request);
    const token = call.request.enrollmentToken;
    if (!this.#tokens.delete(token)) {
      callback({
        code: Status.UNAUTHENTICATED,
        details: 'unknown or already used enrollment token',
      });
      this.#changed();
      return;
    }
    const rackId = `rack-${this.racks.size + 1}`;
    const rackSecret = randomUUID();
    this.racks.set(rackId, rackSecret);
    callback(null, {
      rackId,
      rackSecret,
      name: call.request.hostname,
      clientCertPem: '',
      caCertPem: '',
    });
    this.#changed();
  }

  #session(call: ServerDuplexStream<SessionRequest, SessionResponse>): void {
    const rackId = String(call.metadata.get('x-ingot-rack-id')[0] ?? '');
    const secret = String(call.metadata.get('x-ingot-rack-secret')[0] ?? '');
    const session: FakeSession = {
      rackId,
      requests: [],
      open: true,
      send: (response) => {
        if (session.open) call.write(response);
      },
      end: () => {
        if (!session.open) return;
        session.open = false;
        call.end();
        this.#changed();
      },
      fail: (code, details = 'fake controller failure') => {
        if (!session.open) return;
        session.open = false;
        call.emit('error', { code, details });
        this.#changed();
      },
    };
    this.sessions.push(session);
    call.on('error', () => {
      session.open = false;
      this.#changed();
    });
    call.on('cancelled', () => {
      session.open = false;
      this.#changed();
    });
    call.on('end', () => session.end());
    if (this.racks.get(rackId) !== secret || secret === '') {
      session.fail(Status.UNAUTHENTICATED, 'unknown rack or wrong secret');
      return;
    }
    call.on('data', (request: SessionRequest) => {
      session.requests.push(request);
      this.#receive(session, request);
      this.#changed();
    });
    this.#changed();
  }

  #receive(session: FakeSession, request: SessionRequest): void {
    const kind = request.kind;
    switch (kind?.$case) {
      case 'hello':
        this.hellos.push(kind.value);
        session.send({
          kind: {
            $case: 'welcome',
            value: {
              rackId: session.rackId,
              name: `rack ${session.rackId}`,
              heartbeatIntervalMs: this.heartbeatIntervalMs,
            },
          },
        });
        return;
      case 'heartbeat':
        this.heartbeats.push(kind.value);
        return;
      case 'events': {
        for (const event of kind.value.events) {
          this.eventLog.push(event);
          if (!this.events.has(event.id)) this.events.set(event.id, event);
        }
        this.#ack(
          session,
          kind.value.events.map((event) => event.id),
        );
        return;
      }
      case 'leases': {
        for (const lease of kind.value.leases) {
          if (!this.leases.has(lease.id)) this.leases.set(lease.id, lease);
        }
        this.#ack(
          session,
          kind.value.leases.map((lease) => lease.id),
        );
        return;
      }
      case 'powerResult':
        this.powerResults.push(kind.value);
        return;
      case 'commandAck':
        this.commandAcks.push(...kind.value.commandIds);
        return;
      case 'cacheInventory':
      case undefined:
        return;
    }
  }

  #ack(session: FakeSession, ids: string[]): void {
    if (this.autoAck && ids.length > 0) {
      session.send({ kind: { $case: 'eventAck', value: { eventIds: ids } } });
    }
  }
}
