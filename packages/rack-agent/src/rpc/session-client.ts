import {
  Metadata,
  status as Status,
  type ClientDuplexStream,
  type StatusObject,
} from '@grpc/grpc-js';
import { assertNever, type Clock, type Logger } from '@ingot/common';
import type {
  Command,
  EventAck,
  RackServiceClient,
  SessionRequest,
  SessionResponse,
  Welcome,
} from '@ingot/proto/rack/v1';
import { backoffDelayMs, realSleep, type BackoffPolicy, type Sleep } from '../backoff.ts';
import type { CommandHandler } from '../commands/command-handler.ts';
import type { PowerReport } from '../domain/commands.ts';
import type { RackIdentity } from '../domain/identity.ts';
import type { EventRecorder } from '../events/event-recorder.ts';
import type { AgentStore } from '../state/agent-store.ts';
import {
  MAX_EVENTS_PER_MESSAGE,
  toAgentCommand,
  toOutboxRequests,
  toProtoHeartbeat,
  toProtoHello,
  toProtoPowerResult,
  type HeartbeatInfo,
  type HelloInfo,
} from './convert.ts';
import { toGrpcFailure, type GrpcFailure } from './grpc-status.ts';
import { createRackClient } from './rack-client.ts';

/** Call metadata keys that authenticate a session (rack.proto `Session`). */
export const RACK_ID_METADATA = 'x-ingot-rack-id';
/** See {@link RACK_ID_METADATA}. */
export const RACK_SECRET_METADATA = 'x-ingot-rack-secret';

/** What the session loop needs. */
export interface SessionClientDeps {
  /** Controller addresses; each new session tries the next one. */
  readonly addresses: readonly string[];
  readonly identity: RackIdentity;
  readonly store: AgentStore;
  readonly recorder: EventRecorder;
  readonly commands: CommandHandler;
  /** Builds the Hello at the start of each session (config version may have changed). */
  readonly hello: () => HelloInfo;
  /** Builds each heartbeat. */
  readonly heartbeat: () => HeartbeatInfo;
  /** What the image cache holds; sent after Welcome and by {@link SessionClient.sendCacheInventory}. */
  readonly cacheInventory?: (() => CacheInventoryInfo) | undefined;
  readonly reconnect: BackoffPolicy;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly sleep?: Sleep;
  readonly random?: () => number;
  readonly createClient?: (address: string) => RackServiceClient;
  /** A session without Welcome this long is abandoned (a hung controller). */
  readonly welcomeTimeoutMs?: number;
  /** Used when Welcome carries no heartbeat interval. */
  readonly defaultHeartbeatIntervalMs?: number;
}

/** The session loop's current state, for health reporting and tests. */
export interface SessionStatus {
  /** A controller has welcomed the current session. */
  readonly connected: boolean;
  /** Address of the welcoming controller while connected. */
  readonly controller?: string | undefined;
  /** Sessions welcomed since start. */
  readonly sessions: number;
}

/** The agent's side of `RackService.Session`. */
export interface SessionClient {
  /**
   * Holds a session open, reconnecting with backoff and jitter (trying the next controller each
   * time) until `signal` aborts; then resolves. Never rejects for controller or network
   * failures, including refused credentials, which are logged and retried at the longest delay.
   */
  run(signal: AbortSignal): Promise<void>;
  status(): SessionStatus;
  /**
   * Sends a polled power observation on the current session, if there is one (a PowerResult
   * with no command id). Not queued: the next poll replaces a lost observation. Returns whether
   * it was sent.
   */
  sendPowerObservation(report: PowerReport): boolean;
  /**
   * Sends the image cache's inventory on the current session, if there is one (the next Welcome
   * sends it anyway). Returns whether it was sent.
   */
  sendCacheInventory(): boolean;
}

/** The image cache's files, as the CacheInventory message carries them. */
export interface CacheInventoryInfo {
  readonly files: readonly {
    readonly sha256: string;
    readonly sizeBytes: number;
    readonly lastUsedMs: number;
  }[];
  readonly capacityBytes: number;
}

interface SessionEnd {
  readonly welcomed: boolean;
  readonly reason: 'aborted' | 'ended' | 'error' | 'welcome-timeout';
  readonly failure?: GrpcFailure;
}

/**
 * Creates the session client. Delivery contract (DESIGN.md §4): after Welcome, the outbox is
 * sent in seq order in batches of at most 500; events committed later are sent right after
 * their commit; EventAck deletes them. Within one session an event goes out once; events still
 * unacked when a session ends are sent again on the next one, so delivery is at-least-once and
 * the controller deduplicates by id.
 */
export function createSessionClient(deps: SessionClientDeps): SessionClient {
  let status: SessionStatus = { connected: false, sessions: 0 };
  /** Writes to the current welcomed session; undefined while there is none. */
  let live: ((request: SessionRequest) => boolean) | undefined;
  const sleep = deps.sleep ?? realSleep;
  const sendInventory = (send: (request: SessionRequest) => boolean): boolean => {
    const info = deps.cacheInventory?.();
    if (info === undefined) return false;
    send(inventoryRequest(info));
    return true;
  };
  const createClient = deps.createClient ?? createRackClient;

  const run = async (signal: AbortSignal): Promise<void> => {
    let attempt = 0;
    for (let index = 0; !signal.aborted; index++) {
      const address = deps.addresses[index % deps.addresses.length];
      if (address === undefined)
        throw new Error('the session needs at least one controller address');
      const client = createClient(address);
      let end: SessionEnd;
      try {
        end = await runSession(client.session(authMetadata(deps.identity)), address, signal, () => {
          status = { connected: true, controller: address, sessions: status.sessions + 1 };
        });
      } finally {
        status = { connected: false, sessions: status.sessions };
        client.close();
      }
      if (end.reason === 'aborted') break;
      if (end.welcomed) attempt = 0;
      const category = end.failure?.kind ?? 'transient';
      const fields = {
        controller: address,
        reason: end.reason,
        code: end.failure?.codeName,
        details: end.failure?.details,
      };
      let delayMs: number;
      switch (category) {
        case 'auth':
        case 'unimplemented':
        case 'rejected':
          // Retrying fast cannot help, but exiting would leave the rack dark until someone
          // restarts it; an operator can fix the controller side while we keep trying.
          delayMs = deps.reconnect.maxMs;
          deps.logger.error(
            category === 'auth'
              ? "the controller refused this rack's credentials; restore the rack on the controller or re-enroll it"
              : 'the controller rejected the session; check controller and agent versions',
            { ...fields, retryInMs: delayMs },
          );
          break;
        case 'transient':
          delayMs = backoffDelayMs(attempt++, deps.reconnect, deps.random);
          deps.logger.warn('session ended; reconnecting', { ...fields, retryInMs: delayMs });
          break;
        default:
          return assertNever(category, 'gRPC failure kind');
      }
      await sleep(delayMs, signal);
    }
  };

  const runSession = (
    call: ClientDuplexStream<SessionRequest, SessionResponse>,
    address: string,
    signal: AbortSignal,
    onWelcome: () => void,
  ): Promise<SessionEnd> =>
    new Promise((resolve) => {
      const log = deps.logger.child({ controller: address });
      let welcomed = false;
      let finished = false;
      // Highest outbox seq handed to this session; later appends have larger seqs.
      let cursor = 0;
      const inFlight = new Set<string>();
      let flushing = false;
      let heartbeatTimer: NodeJS.Timeout | undefined;
      let unsubscribe: (() => void) | undefined;
      const drainWaiters = new Set<() => void>();

      const finish = (end: Omit<SessionEnd, 'welcomed'>): void => {
        if (finished) return;
        finished = true;
        live = undefined;
        clearTimeout(welcomeTimer);
        clearInterval(heartbeatTimer);
        unsubscribe?.();
        signal.removeEventListener('abort', onAbort);
        for (const wake of drainWaiters) wake();
        call.cancel();
        resolve({ ...end, welcomed });
      };
      const onAbort = (): void => finish({ reason: 'aborted' });
      const welcomeTimer = setTimeout(
        () => finish({ reason: 'welcome-timeout' }),
        deps.welcomeTimeoutMs ?? 30_000,
      );
      // A function, not a read of `finished`: TypeScript would narrow the flag across awaits.
      const isFinished = (): boolean => finished;
      const send = (request: SessionRequest): boolean => (finished ? true : call.write(request));

      const drained = (): Promise<void> =>
        new Promise((wakeUp) => {
          const wake = (): void => {
            drainWaiters.delete(wake);
            call.off('drain', wake);
            wakeUp();
          };
          drainWaiters.add(wake);
          call.once('drain', wake);
        });

      // Only one flush runs; it re-reads the outbox after every await, so appends that land
      // while it waits for the stream to drain are picked up without a second loop.
      const flush = async (): Promise<void> => {
        if (!welcomed || finished || flushing) return;
        flushing = true;
        try {
          for (;;) {
            const records = deps.store.outboxAfter(cursor, MAX_EVENTS_PER_MESSAGE);
            const last = records.at(-1);
            if (last === undefined || isFinished()) return;
            cursor = last.seq;
            const fresh = records.filter((record) => !inFlight.has(record.event.id));
            for (const record of fresh) inFlight.add(record.event.id);
            for (const request of toOutboxRequests(fresh)) {
              if (!send(request) && !isFinished()) await drained();
            }
          }
        } finally {
          flushing = false;
        }
      };
      const kick = (): void => {
        flush().catch((error: unknown) => {
          log.error('sending the outbox failed', { error });
          finish({ reason: 'error' });
        });
      };

      const sendHeartbeat = (): void => {
        send({ kind: { $case: 'heartbeat', value: toProtoHeartbeat(deps.heartbeat()) } });
      };

      const onWelcomeMessage = (welcome: Welcome): void => {
        if (welcomed) return;
        welcomed = true;
        clearTimeout(welcomeTimer);
        if (welcome.rackId !== '' && welcome.rackId !== deps.identity.rackId) {
          log.warn('controller welcomed a different rack id', { welcomed: welcome.rackId });
        }
        const intervalMs =
          welcome.heartbeatIntervalMs > 0
            ? welcome.heartbeatIntervalMs
            : (deps.defaultHeartbeatIntervalMs ?? 10_000);
        log.info('session established', {
          rackName: welcome.name,
          heartbeatIntervalMs: intervalMs,
        });
        onWelcome();
        sendHeartbeat();
        sendInventory(send);
        heartbeatTimer = setInterval(sendHeartbeat, intervalMs);
        unsubscribe = deps.recorder.onAppend(kick);
        live = send;
        kick();
      };

      const onEventAck = (ack: EventAck): void => {
        const deleted = deps.store.ackOutbox(ack.eventIds);
        for (const id of ack.eventIds) inFlight.delete(id);
        log.debug('events acknowledged', { acked: ack.eventIds.length, deleted });
      };

      const onCommand = (message: Command): void => {
        const converted = toAgentCommand(message);
        if (!converted.ok) {
          const rejection = converted.error;
          if (rejection.kind === 'unknown-command') {
            // Not acked: a controller that knows this agent is too old can still see it pending.
            log.warn('ignoring a command of a kind this agent does not know', {
              commandId: rejection.commandId,
            });
            return;
          }
          log.error('rejected an invalid command', {
            commandId: rejection.commandId,
            commandKind: rejection.commandKind,
            message: rejection.message,
          });
          if (rejection.commandKind === 'power') {
            const report = {
              machineId: rejection.machineId,
              ok: false,
              state: 'unknown',
              errorKind: 'settings',
              message: rejection.message,
              observedAtMs: deps.clock.now(),
            } as const;
            send({
              kind: {
                $case: 'powerResult',
                value: toProtoPowerResult(rejection.commandId, report),
              },
            });
          }
          send({ kind: { $case: 'commandAck', value: { commandIds: [rejection.commandId] } } });
          return;
        }
        const command = converted.value;
        log.info('command received', { commandId: command.id, kind: command.kind });
        deps.commands.handle(command).then(
          (outcome) => {
            if (outcome.status === 'aborted') return;
            if (outcome.result.kind === 'power') {
              const value = toProtoPowerResult(command.id, outcome.result.report);
              send({ kind: { $case: 'powerResult', value } });
            }
            send({ kind: { $case: 'commandAck', value: { commandIds: [command.id] } } });
          },
          (error: unknown) => {
            // Not acked, so the controller resends it; the error is a bug worth seeing.
            log.error('applying a command failed', { commandId: command.id, error });
          },
        );
      };

      call.on('data', (response: SessionResponse) => {
        if (finished) return;
        const kind = response.kind;
        if (kind === undefined) return; // a message kind from a newer controller
        switch (kind.$case) {
          case 'welcome':
            onWelcomeMessage(kind.value);
            break;
          case 'eventAck':
            onEventAck(kind.value);
            break;
          case 'command':
            onCommand(kind.value);
            break;
          default:
            assertNever(kind, 'session response');
        }
      });
      call.on('error', (error: unknown) =>
        finish({ reason: 'error', failure: toGrpcFailure(error) }),
      );
      // `status` arrives for every ending, including a clean server close (code OK).
      call.on('status', (callStatus: StatusObject) => {
        if (callStatus.code === Status.OK) finish({ reason: 'ended' });
        else finish({ reason: 'error', failure: toGrpcFailure(callStatus) });
      });

      if (signal.aborted) {
        finish({ reason: 'aborted' });
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      send({ kind: { $case: 'hello', value: toProtoHello(deps.hello()) } });
    });

  return {
    run,
    status: () => status,
    sendCacheInventory: () => live !== undefined && sendInventory(live),
    sendPowerObservation(report) {
      return (
        live?.({ kind: { $case: 'powerResult', value: toProtoPowerResult('', report) } }) !==
        undefined
      );
    },
  };
}

function inventoryRequest(info: CacheInventoryInfo): SessionRequest {
  return {
    kind: {
      $case: 'cacheInventory',
      value: { files: info.files.map((f) => ({ ...f })), capacityBytes: info.capacityBytes },
    },
  };
}

function authMetadata(identity: RackIdentity): Metadata {
  const metadata = new Metadata();
  metadata.set(RACK_ID_METADATA, identity.rackId);
  metadata.set(RACK_SECRET_METADATA, identity.rackSecret);
  return metadata;
}
