/**
 * TFTP option negotiation (RFC 2347): the meaning of the options a client may ask for in an
 * RRQ, and what the server answers in its OACK.
 *
 * | option     | RFC  | range          | server may answer            |
 * |------------|------|----------------|------------------------------|
 * | blksize    | 2348 | 8–65464 bytes  | the value or a smaller one   |
 * | timeout    | 2349 | 1–255 seconds  | the same value only (≤ limit)|
 * | tsize      | 2349 | ≥ 0 bytes      | the file's real size (RRQ)   |
 * | windowsize | 7440 | 1–65535 blocks | the value or a smaller one   |
 *
 * RFC 2347: names are case-insensitive; the server acknowledges only options the client asked
 * for, and simply omits the ones it does not know or does not accept (no error). A value that
 * is not a decimal number in range is treated like an unknown option. If a name repeats, the
 * first one counts. Pure: no I/O.
 */
import type { TftpOption } from './packet.ts';

/** RFC 1350: the block size without a blksize option. */
export const DEFAULT_BLKSIZE = 512;
/** RFC 2348: smallest and largest blksize. */
export const BLKSIZE_MIN = 8;
export const BLKSIZE_MAX = 65464;
/** RFC 2349: timeout range, in seconds. */
export const TIMEOUT_MIN_SECONDS = 1;
export const TIMEOUT_MAX_SECONDS = 255;
/** RFC 7440: windowsize range, in blocks. */
export const WINDOWSIZE_MIN = 1;
export const WINDOWSIZE_MAX = 65535;

/** The options a request carried that we understand, with valid values. */
export interface RequestedOptions {
  readonly blksize?: number;
  readonly timeoutSeconds?: number;
  readonly tsize?: number;
  readonly windowsize?: number;
}

/** The server's limits on what it grants. */
export interface OptionLimits {
  /** Largest blksize granted (≤ 65464); larger requests are answered with this. */
  readonly maxBlksize: number;
  /** Largest windowsize granted (≤ 65535). */
  readonly maxWindowsize: number;
  /**
   * Longest RFC 2349 timeout accepted, in seconds. The option can only be accepted as sent or
   * left out, and a transfer holds its slot for timeout × (retries + 1): a client asking for 255 s
   * would keep a slot ~25 minutes after it went away, so longer requests are left out of the OACK
   * and the server's own retransmission policy applies.
   */
  readonly maxTimeoutSeconds: number;
}

/** The outcome of negotiation: the transfer's parameters and the OACK's options. */
export interface NegotiatedOptions {
  readonly blksize: number;
  readonly windowsize: number;
  /** The client's retransmission timeout when it sent one (RFC 2349), in milliseconds. */
  readonly timeoutMs?: number;
  /** What to put in the OACK, in the client's order; empty means "no OACK, send DATA 1". */
  readonly acknowledged: readonly TftpOption[];
}

/** Picks out the options we understand with valid values; everything else is ignored. */
export function parseRequestOptions(options: readonly TftpOption[]): RequestedOptions {
  let blksize: number | undefined;
  let timeoutSeconds: number | undefined;
  let tsize: number | undefined;
  let windowsize: number | undefined;
  for (const option of options) {
    const value = parseDecimal(option.value);
    if (value === undefined) continue;
    switch (option.name.toLowerCase()) {
      case 'blksize':
        if (blksize === undefined && value >= BLKSIZE_MIN) blksize = value;
        break;
      case 'timeout':
        if (
          timeoutSeconds === undefined &&
          inRange(value, TIMEOUT_MIN_SECONDS, TIMEOUT_MAX_SECONDS)
        ) {
          timeoutSeconds = value;
        }
        break;
      case 'tsize':
        tsize ??= value;
        break;
      case 'windowsize':
        if (windowsize === undefined && inRange(value, WINDOWSIZE_MIN, WINDOWSIZE_MAX)) {
          windowsize = value;
        }
        break;
      default:
        break; // RFC 2347: unknown options are ignored, never an error
    }
  }
  return {
    ...(blksize === undefined ? {} : { blksize }),
    ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }),
    ...(tsize === undefined ? {} : { tsize }),
    ...(windowsize === undefined ? {} : { windowsize }),
  };
}

/**
 * Decides the transfer's parameters for a read request of a `sizeBytes` file and the options to
 * acknowledge. Only options the client asked for appear in the OACK; tsize is answered with the
 * real size (RFC 2349 §"Transfer Size Option": the client sends 0 in an RRQ), except for an
 * empty file (see the quirk below).
 */
export function negotiateOptions(
  requested: readonly TftpOption[],
  limits: OptionLimits,
  sizeBytes: number,
): NegotiatedOptions {
  const parsed = parseRequestOptions(requested);
  const timeoutSeconds =
    parsed.timeoutSeconds !== undefined && parsed.timeoutSeconds <= limits.maxTimeoutSeconds
      ? parsed.timeoutSeconds
      : undefined;
  const blksize =
    parsed.blksize === undefined
      ? DEFAULT_BLKSIZE
      : Math.min(parsed.blksize, limits.maxBlksize, BLKSIZE_MAX);
  const windowsize =
    parsed.windowsize === undefined
      ? 1
      : Math.min(parsed.windowsize, limits.maxWindowsize, WINDOWSIZE_MAX);
  // A Map, not an object literal: a hostile option named `constructor` must not match.
  const answers = new Map<string, string>();
  if (parsed.blksize !== undefined) answers.set('blksize', String(blksize));
  if (timeoutSeconds !== undefined) answers.set('timeout', String(timeoutSeconds));
  // quirk(curl 7.88): curl fails a transfer whose OACK says "tsize 0" ("invalid tsize"), so an
  // empty file leaves tsize unacknowledged, which RFC 2347 allows for any option.
  if (parsed.tsize !== undefined && sizeBytes > 0) answers.set('tsize', String(sizeBytes));
  if (parsed.windowsize !== undefined) answers.set('windowsize', String(windowsize));
  const acknowledged: TftpOption[] = [];
  for (const option of requested) {
    const name = option.name.toLowerCase();
    const value = answers.get(name);
    if (value === undefined) continue;
    acknowledged.push({ name, value });
    answers.delete(name); // first occurrence only
  }
  return {
    blksize,
    windowsize,
    ...(timeoutSeconds === undefined ? {} : { timeoutMs: timeoutSeconds * 1000 }),
    acknowledged,
  };
}

/** A plain decimal number (no sign, no spaces, at most 10 digits), or `undefined`. */
function parseDecimal(text: string): number | undefined {
  if (!/^[0-9]{1,10}$/.test(text)) return undefined;
  return Number(text);
}

function inRange(value: number, min: number, max: number): boolean {
  return value >= min && value <= max;
}
