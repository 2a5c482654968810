/**
 * Drives one transfer's state machine (`transfer.ts`) with real I/O: the transfer's own
 * transport (its TID, RFC 1350 §4), its block source and one timer. Events are handled strictly
 * in order; a window whose blocks are in memory is sent synchronously.
 *
 * @internal
 */
import type { Clock } from '@ingot/common';
import type { DatagramTransport, Destination } from '../net/datagram-transport.ts';
import type { BlockSource } from './block-source.ts';
import { decodePacket, encodePacket } from './codec/packet.ts';
import {
  transition,
  type TransferAction,
  type TransferEvent,
  type TransferState,
} from './transfer.ts';

/** How a transfer ended. */
export interface TransferOutcome {
  readonly ok: boolean;
  /** Bytes of the file acknowledged by the client. */
  readonly bytes: number;
  readonly durationMs: number;
  readonly reason?: string | undefined;
  /** Retransmission timeouts that fired (each one resent a window or the OACK). */
  readonly timeouts: number;
}

/** What a runner needs. */
export interface TransferRunnerDeps {
  readonly transport: DatagramTransport;
  readonly source: BlockSource;
  readonly client: Destination;
  readonly clock: Clock;
  /** Called once, after the transport and the source are closed. */
  readonly onDone: (outcome: TransferOutcome) => void;
}

/** A running transfer. */
export interface TransferRunner {
  /** Ends the transfer now (server shutdown); resolves when its resources are released. */
  abort(reason: string): Promise<void>;
}

/** Starts a transfer from its initial state; the first packet goes out immediately. */
export function runTransfer(initial: TransferState, deps: TransferRunnerDeps): TransferRunner {
  const { transport, source, client, clock } = deps;
  const startedMs = clock.now();
  let state = initial;
  let timer: NodeJS.Timeout | undefined;
  let timerMs = 0;
  let timeouts = 0;
  let timerGeneration = 0;
  const queue: { event: TransferEvent; generation?: number }[] = [];
  let draining = false;
  let finished: Promise<void> | undefined;
  let lastSend: Promise<void> = Promise.resolve();

  const send = (bytes: Uint8Array): void => {
    // A lost datagram is a loss like any other: the timer retransmits.
    lastSend = transport.send(bytes, client).catch(() => undefined);
  };

  const finish = (ok: boolean, reason?: string): Promise<void> => {
    finished ??= (async () => {
      clearTimeout(timer);
      await lastSend;
      await Promise.allSettled([transport.close(), source.close()]);
      deps.onDone({
        ok,
        bytes: Math.min(state.acked * state.blksize, state.sizeBytes),
        durationMs: clock.now() - startedMs,
        reason,
        timeouts,
      });
    })();
    return finished;
  };

  const armTimer = (timeoutMs: number): void => {
    timerGeneration++;
    // Re-arming once per window is the hot path: refresh the one timer instead of a new one.
    if (timer !== undefined && timeoutMs === timerMs) {
      timer.refresh();
      return;
    }
    clearTimeout(timer);
    timerMs = timeoutMs;
    timer = setTimeout(() => {
      dispatch({ kind: 'timeout' }, timerGeneration);
    }, timeoutMs);
  };

  /**
   * Carries out `actions` from `index` on, synchronously while the bytes are in memory. Returns
   * the index of a `send-data` whose bytes must be read first, or -1 when all are done.
   */
  const executeFrom = (actions: readonly TransferAction[], index: number): number => {
    for (let i = index; i < actions.length; i++) {
      const action = actions[i];
      if (action === undefined) break;
      switch (action.kind) {
        case 'send-data': {
          const data = source.tryRead(action.offset, action.length);
          if (data === undefined) return i;
          send(encodePacket({ opcode: 'data', block: action.block, data }));
          break;
        }
        case 'send':
          send(encodePacket(action.packet));
          break;
        case 'arm-timer':
          armTimer(action.timeoutMs);
          break;
        case 'finish':
          void finish(true);
          break;
        case 'fail':
          void finish(false, action.reason);
          break;
      }
    }
    return -1;
  };

  const execute = async (actions: readonly TransferAction[]): Promise<void> => {
    for (let blocked = executeFrom(actions, 0); blocked >= 0;) {
      const action = actions[blocked];
      if (action?.kind !== 'send-data') break;
      const data = await source.read(action.offset, action.length);
      if (finished !== undefined) return;
      send(encodePacket({ opcode: 'data', block: action.block, data }));
      blocked = executeFrom(actions, blocked + 1);
    }
  };

  /** Handles queued events in order; returns early, synchronously, when nothing blocks. */
  const drain = async (): Promise<void> => {
    draining = true;
    try {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        if (finished !== undefined) return;
        // A timeout that fired while an ACK was queued ahead of it is stale.
        if (next.generation !== undefined && next.generation !== timerGeneration) continue;
        if (next.event.kind === 'timeout') timeouts++;
        const result = transition(state, next.event);
        state = result.state;
        const blocked = executeFrom(result.actions, 0);
        if (blocked >= 0) await execute(result.actions.slice(blocked));
      }
    } catch (e: unknown) {
      // The file could not be read (I/O error, shrank): tell the client and stop.
      const message = e instanceof Error ? e.message : String(e);
      send(encodePacket({ opcode: 'error', code: 0, message: 'read error' }));
      await finish(false, `read error: ${message}`);
    } finally {
      draining = false;
    }
  };

  const dispatch = (event: TransferEvent, generation?: number): void => {
    if (finished !== undefined) return;
    queue.push(generation === undefined ? { event } : { event, generation });
    if (!draining) void drain();
  };

  transport.onMessage((datagram) => {
    // The socket is connected to the client, so only its TID arrives here (udp-transport.ts);
    // the check keeps transports that are not connected correct too.
    if (datagram.remotePort !== client.port || datagram.remoteAddress !== client.address) {
      const stranger = { address: datagram.remoteAddress, port: datagram.remotePort };
      const reply = encodePacket({ opcode: 'error', code: 5, message: 'unknown transfer ID' });
      transport.send(reply, stranger).catch(() => undefined);
      return;
    }
    const decoded = decodePacket(datagram.data);
    if (!decoded.ok) return;
    const packet = decoded.value;
    if (packet.opcode === 'ack') dispatch({ kind: 'ack', block: packet.block });
    else if (packet.opcode === 'error') {
      dispatch({ kind: 'error', code: packet.code, message: packet.message });
    }
    // Anything else from the client is ignored: only ACK and ERROR mean something here.
  });

  dispatch({ kind: 'start' });

  return {
    abort: (reason) => finish(false, reason),
  };
}
