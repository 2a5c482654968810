/**
 * One TFTP read transfer as a pure state machine (STYLE.md §4.3):
 * `transition(state, event) → { state, actions }`. The server feeds it packets and timer
 * expiries and carries out the actions (send, arm the timer, report); this module never touches
 * a socket, a file or a clock, so every protocol edge is tested with plain values.
 *
 * ```
 *            start                   ACK 0                   ACK of last block
 *  new ──────────────▶ oack-sent ─────────────▶ sending ───────────────────────▶ done
 *   │  (options asked)     │                   ▲  │ ACK k: next window from k+1
 *   │                      │ timeout: resend   │  │ timeout: resend window, back off
 *   └──────────────────────┼───────────────────┘  │
 *      start (no options)  │ ERROR / retries exhausted
 *                          └──────────────────────┴──────────────────────────────▶ failed
 * ```
 *
 * Blocks are counted with unbounded integers inside and sent as `block mod 65536`, so transfers
 * past block 65535 roll over to 0 as tftp-hpa, atftp, curl and iPXE expect (RFC 1350 leaves the
 * wrap undefined; RFC 7440 §4 mentions it). A file of `n` bytes is `⌊n / blksize⌋ + 1` blocks:
 * the last one is shorter than blksize, and empty when `n` is a multiple of it (RFC 1350 §6).
 */
import type { ErrorPacket, OackPacket, TftpOption } from './codec/packet.ts';
import { ERROR_CODE } from './codec/packet.ts';
import { negotiateOptions, type OptionLimits } from './codec/options.ts';

/** Retransmission policy: exponential backoff from `initialMs` to `maxMs`, then give up. */
export interface RetransmitPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  /** Retransmissions of one window (or OACK) without progress before the transfer fails. */
  readonly maxRetries: number;
}

/** Where the transfer is. */
export type TransferPhase = 'new' | 'oack-sent' | 'sending' | 'done' | 'failed';

/** The whole state of one transfer; treat as immutable. */
export interface TransferState {
  readonly phase: TransferPhase;
  readonly sizeBytes: number;
  readonly blksize: number;
  readonly windowsize: number;
  /** Blocks in the file, counting the final short (possibly empty) one. */
  readonly totalBlocks: number;
  /** Highest block acknowledged (0 before any). */
  readonly acked: number;
  /** Highest block sent so far. */
  readonly sent: number;
  /** Retransmissions since the last progress. */
  readonly retries: number;
  /** The timeout to arm next. */
  readonly timeoutMs: number;
  readonly baseTimeoutMs: number;
  readonly policy: RetransmitPolicy;
  /** Options for the OACK; empty when none was acknowledged. */
  readonly oack: readonly TftpOption[];
  /** RFC 7440: one early window resend per point of progress on a duplicate ACK. */
  readonly resentOnDuplicate: boolean;
}

/** What can happen to a transfer. */
export type TransferEvent =
  | { readonly kind: 'start' }
  /** An ACK with its 16-bit wire block number; stale and duplicate ones are recognised here. */
  | { readonly kind: 'ack'; readonly block: number }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'error'; readonly code: number; readonly message: string };

/** What the server must do. */
export type TransferAction =
  | { readonly kind: 'send'; readonly packet: OackPacket | ErrorPacket }
  /** Send DATA `block` (wire number) carrying the file's bytes [offset, offset + length). */
  | {
      readonly kind: 'send-data';
      readonly block: number;
      readonly offset: number;
      readonly length: number;
    }
  /** (Re)arm the transfer's single timer; it replaces any armed one. */
  | { readonly kind: 'arm-timer'; readonly timeoutMs: number }
  | { readonly kind: 'finish'; readonly bytes: number }
  | { readonly kind: 'fail'; readonly reason: string };

/** The new state and what to do. */
export interface Transition {
  readonly state: TransferState;
  readonly actions: readonly TransferAction[];
}

/** What a transfer needs to begin. */
export interface TransferInit {
  readonly sizeBytes: number;
  /** The options of the RRQ, as decoded. */
  readonly requestOptions: readonly TftpOption[];
  readonly limits: OptionLimits;
  readonly policy: RetransmitPolicy;
}

/** Negotiates options (RFC 2347) and returns the state of a transfer about to start. */
export function createTransfer(init: TransferInit): TransferState {
  const negotiated = negotiateOptions(init.requestOptions, init.limits, init.sizeBytes);
  const baseTimeoutMs = negotiated.timeoutMs ?? init.policy.initialMs;
  return {
    phase: 'new',
    sizeBytes: init.sizeBytes,
    blksize: negotiated.blksize,
    windowsize: negotiated.windowsize,
    totalBlocks: Math.floor(init.sizeBytes / negotiated.blksize) + 1,
    acked: 0,
    sent: 0,
    retries: 0,
    timeoutMs: baseTimeoutMs,
    baseTimeoutMs,
    policy: init.policy,
    oack: negotiated.acknowledged,
    resentOnDuplicate: false,
  };
}

/** Advances a transfer by one event. Pure; events after `done`/`failed` change nothing. */
export function transition(state: TransferState, event: TransferEvent): Transition {
  if (state.phase === 'done' || state.phase === 'failed') return { state, actions: [] };
  switch (event.kind) {
    case 'start':
      return start(state);
    case 'ack':
      return ack(state, event.block);
    case 'timeout':
      return timeout(state);
    case 'error':
      // RFC 1350 §7: an ERROR ends the transfer and is neither acknowledged nor retransmitted.
      return {
        state: { ...state, phase: 'failed' },
        actions: [{ kind: 'fail', reason: `client error ${event.code}: ${event.message}` }],
      };
  }
}

function start(state: TransferState): Transition {
  if (state.phase !== 'new') return { state, actions: [] };
  if (state.oack.length > 0) {
    return {
      state: { ...state, phase: 'oack-sent' },
      actions: [
        { kind: 'send', packet: { opcode: 'oack', options: state.oack } },
        { kind: 'arm-timer', timeoutMs: state.timeoutMs },
      ],
    };
  }
  return sendWindow({ ...state, phase: 'sending' });
}

function ack(state: TransferState, wireBlock: number): Transition {
  if (state.phase === 'oack-sent') {
    // RFC 2347: ACK 0 accepts the OACK; anything else is stray and ignored.
    if (wireBlock !== 0) return { state, actions: [] };
    return sendWindow({ ...progressed(state), phase: 'sending' });
  }
  if (state.phase !== 'sending') return { state, actions: [] };
  const block = absoluteBlock(state, wireBlock);
  if (block === undefined) return { state, actions: [] }; // stale: from before the last ACK
  if (block === state.acked) return duplicateAck(state);
  const next = { ...progressed(state), acked: block };
  if (block === state.totalBlocks) {
    return {
      state: { ...next, phase: 'done' },
      actions: [{ kind: 'finish', bytes: state.sizeBytes }],
    };
  }
  // RFC 7440 §4: an ACK inside the window means the client lost the rest; resume after it.
  return sendWindow(next);
}

/**
 * A repeated ACK of the last acknowledged block. With windowsize 1 it is ignored: resending on
 * it is the Sorcerer's Apprentice bug (RFC 1123 §4.2.3.1) and the timer recovers a real loss.
 * With a window, RFC 7440 §4 clients re-ACK the last in-order block when the first packet of a
 * window is lost, so resend the window early — once per point of progress, so duplicates of
 * that ACK cannot multiply traffic.
 */
function duplicateAck(state: TransferState): Transition {
  if (state.windowsize === 1 || state.resentOnDuplicate) return { state, actions: [] };
  return sendWindow({ ...state, resentOnDuplicate: true });
}

function timeout(state: TransferState): Transition {
  if (state.phase === 'new') return { state, actions: [] };
  if (state.retries >= state.policy.maxRetries) {
    const packet: ErrorPacket = {
      opcode: 'error',
      code: ERROR_CODE.notDefined,
      message: 'transfer timed out',
    };
    return {
      state: { ...state, phase: 'failed' },
      actions: [
        { kind: 'send', packet },
        { kind: 'fail', reason: `no ACK after ${state.retries} retransmissions` },
      ],
    };
  }
  const backedOff: TransferState = {
    ...state,
    retries: state.retries + 1,
    timeoutMs: Math.min(state.timeoutMs * 2, Math.max(state.policy.maxMs, state.baseTimeoutMs)),
  };
  if (state.phase === 'oack-sent') {
    return {
      state: backedOff,
      actions: [
        { kind: 'send', packet: { opcode: 'oack', options: state.oack } },
        { kind: 'arm-timer', timeoutMs: backedOff.timeoutMs },
      ],
    };
  }
  // RFC 7440 §4: on timeout, resend the whole window after the last ACK.
  return sendWindow(backedOff);
}

/** Progress resets the retry count and the backoff. */
function progressed(state: TransferState): TransferState {
  return { ...state, retries: 0, timeoutMs: state.baseTimeoutMs, resentOnDuplicate: false };
}

/** Sends blocks `acked + 1 …` up to the window or the end, then arms the timer. */
function sendWindow(state: TransferState): Transition {
  const first = state.acked + 1;
  const last = Math.min(state.acked + state.windowsize, state.totalBlocks);
  const actions: TransferAction[] = [];
  for (let block = first; block <= last; block++) {
    const offset = (block - 1) * state.blksize;
    const length = Math.max(0, Math.min(state.blksize, state.sizeBytes - offset));
    actions.push({ kind: 'send-data', block: block & 0xffff, offset, length });
  }
  actions.push({ kind: 'arm-timer', timeoutMs: state.timeoutMs });
  return { state: { ...state, sent: Math.max(state.sent, last) }, actions };
}

/**
 * Maps a 16-bit ACK number to the block it means: the one in [acked, sent] with those low 16
 * bits. The range is at most 65535 wide (windowsize ≤ 65535), so the answer is unique.
 */
function absoluteBlock(state: TransferState, wireBlock: number): number | undefined {
  const block = state.acked + ((wireBlock - state.acked) & 0xffff);
  return block <= state.sent ? block : undefined;
}
