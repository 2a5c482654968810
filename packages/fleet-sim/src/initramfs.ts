/**
 * Ingot's initramfs as a simulated machine runs it once udhcpc has a lease
 * (packages/images/initramfs/init and fetch.sh): the root squashfs, fetched whole with busybox
 * wget, and on failure a FAIL report; each is tried as the real `ingot_retry` tries it, so an
 * agent that restarts while a machine is in its initramfs costs seconds, not the boot.
 */
import { randomUUID } from 'node:crypto';
import { oauthHeader, sha256OfUrl } from './boot-script.ts';
import {
  httpRequest,
  retryDelayMs,
  sleep,
  type HttpResult,
  type RetryPolicy,
} from './http-client.ts';

/**
 * `ingot_retry` in packages/images/initramfs/fetch.sh (`INGOT_RETRY_TRIES=7`,
 * `INGOT_RETRY_MAX_WAIT=8`): 7 attempts, waiting 1, 2, 4, 8, 8, 8 s between them (31 s in all).
 * Keep the two in step.
 */
export const INITRAMFS_RETRY: RetryPolicy = {
  backoff: 'doubling',
  retries: 6,
  firstDelayMs: 1000,
  maxDelayMs: 8000,
};

/** One attempt's outcome: a value, or why it failed. */
export type Attempt<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

/** A failed attempt, as `ingot_retry` logs it ("attempt 2 of 7 failed"). */
export interface FailedAttempt {
  /** 1-based. */
  readonly attempt: number;
  /** Attempts in all. */
  readonly of: number;
  readonly reason: string;
}

/** Options shared by the initramfs's retried steps. */
export interface InitramfsRetryOptions {
  readonly signal: AbortSignal;
  /** Default {@link INITRAMFS_RETRY}; tests pass ms-scale waits. */
  readonly retry?: RetryPolicy;
  /** Hears every failed attempt, the last one too. */
  readonly onFail?: (failed: FailedAttempt) => void;
}

/**
 * `ingot_retry WHAT COMMAND`: runs `attempt` until it succeeds or the retries are spent, waiting
 * between attempts as `retry` says. Resolves with the success or the last failure; rejects only
 * when `signal` aborts (at once, in a wait too).
 */
export async function ingotRetry<T>(
  attempt: () => Promise<Attempt<T>>,
  options: InitramfsRetryOptions,
): Promise<Attempt<T>> {
  const retry = options.retry ?? INITRAMFS_RETRY;
  const of = retry.retries + 1;
  let last: Attempt<T> = { ok: false, reason: 'no attempt' };
  for (let n = 1; n <= of; n++) {
    if (n > 1) await sleep(retryDelayMs(retry, n - 1), options.signal);
    stopIfAborted(options.signal);
    last = await attempt();
    if (last.ok) return last;
    // A power off ends the attempt with an error; that is no failed attempt.
    stopIfAborted(options.signal);
    options.onFail?.({ attempt: n, of, reason: last.reason });
  }
  return last;
}

/** Rejects as `sleep` does once `signal` has aborted (read afresh: no narrowing across awaits). */
function stopIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new Error('aborted');
}

const reasonOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * `ingot_fetch "$SQUASHFS" …`: each attempt GETs the whole file anew (busybox wget cannot
 * resume); an answer other than 200, a connection error, or a body whose sha256 is not the
 * one in the URL (`…/images/<sha256>`) fails the attempt.
 */
export function fetchSquashfs(
  options: InitramfsRetryOptions & { readonly url: string; readonly localAddress: string },
): Promise<Attempt<HttpResult>> {
  const want = sha256OfUrl(options.url);
  return ingotRetry(async (): Promise<Attempt<HttpResult>> => {
    try {
      const got = await httpRequest({
        url: options.url,
        localAddress: options.localAddress,
        signal: options.signal,
      });
      if (got.status !== 200) return { ok: false, reason: `HTTP ${got.status}` };
      if (want !== undefined && got.sha256 !== want)
        return { ok: false, reason: `sha256 ${got.sha256} is not ${want}` };
      return { ok: true, value: got };
    } catch (e) {
      return { ok: false, reason: reasonOf(e) };
    }
  }, options);
}

/** What the FAIL report needs from the kernel command line, and what it says. */
export interface InitramfsFailReport {
  /** `ingot.metadata`. */
  readonly metadata: string;
  readonly token: string;
  readonly machineId: string;
  readonly localAddress: string;
  /** The failed step (`boot.network`, `boot.squashfs`). */
  readonly step: string;
  readonly message: string;
}

/**
 * `post_fail STEP MESSAGE`: a finish/FAIL event from origin `ingot-initramfs`, its report id made
 * once and sent on every attempt (the controller stores a resent report once:
 * deploy-contract.md "Report ids"), each attempt with a fresh OAuth nonce and given up after
 * 20 s without an answer (`timeout 20 wget`). Resolves whether a 2xx came back; the machine powers off either way.
 */
export async function postInitramfsFail(
  report: InitramfsFailReport,
  options: InitramfsRetryOptions,
): Promise<boolean> {
  const base = report.metadata.endsWith('/') ? report.metadata : `${report.metadata}/`;
  const body = JSON.stringify({
    event_type: 'finish',
    origin: 'ingot-initramfs',
    name: report.step,
    result: 'FAIL',
    description: report.message,
    timestamp: Math.floor(Date.now() / 1000),
    id: randomUUID(),
  });
  const posted = await ingotRetry(async (): Promise<Attempt<undefined>> => {
    const auth = oauthHeader(report.token, randomUUID(), Date.now() / 1000);
    try {
      const got = await httpRequest({
        url: `${base}status/${report.machineId}`,
        method: 'POST',
        localAddress: report.localAddress,
        headers: {
          ...(auth === undefined ? {} : { authorization: auth }),
          'content-type': 'application/json',
        },
        body,
        timeoutMs: 20_000,
        signal: options.signal,
      });
      return got.status >= 200 && got.status < 300
        ? { ok: true, value: undefined }
        : { ok: false, reason: `HTTP ${got.status}` };
    } catch (e) {
      return { ok: false, reason: reasonOf(e) };
    }
  }, options);
  return posted.ok;
}
