/**
 * HTTP as the machine's programs use it (iPXE, busybox wget, curl): one connection per request
 * from the machine's leased address, bodies streamed through sha256 and dropped. `fetchRetrying`
 * retries as `curl -f --retry N [--retry-delay D] --retry-all-errors` does: on connection errors
 * and on any HTTP error status, waiting as its {@link RetryPolicy} says.
 */
import { createHash } from 'node:crypto';
import { request } from 'node:http';

/** A finished request. */
export interface HttpResult {
  readonly status: number;
  readonly bytes: number;
  readonly sha256: string;
  /** The body as text when it is small (≤ 1 MiB) and `keepText` was asked for. */
  readonly text: string;
}

/** One request. Rejects on connection errors, timeout and abort; any status resolves. */
export function httpRequest(options: {
  url: string;
  localAddress: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  keepText?: boolean;
  timeoutMs?: number;
  signal: AbortSignal;
}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const url = new URL(options.url);
    const body = options.body === undefined ? undefined : Buffer.from(options.body);
    const req = request(
      {
        host: url.hostname,
        port: url.port === '' ? 80 : Number(url.port),
        path: `${url.pathname}${url.search}`,
        method: options.method ?? 'GET',
        localAddress: options.localAddress,
        headers: {
          ...(options.headers ?? {}),
          ...(body === undefined ? {} : { 'content-length': String(body.length) }),
        },
        agent: false,
        signal: options.signal,
        timeout: options.timeoutMs ?? 60_000,
      },
      (res) => {
        const hash = createHash('sha256');
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          hash.update(chunk);
          bytes += chunk.length;
          if (options.keepText === true && bytes <= 1 << 20) chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            bytes,
            sha256: hash.digest('hex'),
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`${options.method ?? 'GET'} ${url.pathname}: timed out`)),
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * How a retrying client waits between its attempts.
 *
 * - `fixed`: `curl --retry N --retry-delay D`: D before every retry.
 * - `doubling`: `firstDelayMs` before the first retry, twice the last wait before each next one,
 *   never more than `maxDelayMs`. That is curl's own backoff when `--retry-delay` is not given
 *   ({@link curlRetry}), and the initramfs's `ingot_retry` (`INITRAMFS_RETRY`, initramfs.ts).
 *
 * Plain data: the engine gets it as JSON.
 */
export type RetryPolicy =
  | {
      readonly backoff: 'fixed';
      /** Attempts after the first (`--retry N`). */
      readonly retries: number;
      /** `--retry-delay`: the wait before every retry. */
      readonly delayMs: number;
    }
  | {
      readonly backoff: 'doubling';
      /** Attempts after the first (`--retry N`). */
      readonly retries: number;
      /** The wait before the first retry. */
      readonly firstDelayMs: number;
      /** The longest wait. */
      readonly maxDelayMs: number;
    };

/**
 * `curl --retry N` without `--retry-delay`: curl waits 1 s before the first retry and doubles the
 * wait for each next one, up to 10 minutes (curl's tool_operate.c, `RETRY_SLEEP_DEFAULT` and
 * `RETRY_SLEEP_MAX`): `--retry 5` waits 1, 2, 4, 8, 16 s. curl would honour a `Retry-After` on
 * 429/503 instead; the metadata paths the simulator calls send none, so it is not modelled.
 */
export function curlRetry(retries: number): RetryPolicy {
  return { backoff: 'doubling', retries, firstDelayMs: 1000, maxDelayMs: 600_000 };
}

/** The wait before retry `n` of `policy` (1 is the first retry, after the first attempt). */
export function retryDelayMs(policy: RetryPolicy, n: number): number {
  switch (policy.backoff) {
    case 'fixed':
      return policy.delayMs;
    case 'doubling':
      return Math.min(policy.firstDelayMs * 2 ** Math.max(0, n - 1), policy.maxDelayMs);
  }
}

/**
 * `curl -f --retry … --retry-all-errors`: resolves with the first 2xx, or rejects with the last
 * failure once the retries are spent; waits between attempts as `retry` says, and rejects at
 * once on abort. `headers` is called per attempt (fresh OAuth nonce).
 */
export async function fetchRetrying(
  options: Omit<Parameters<typeof httpRequest>[0], 'headers'> & {
    headers?: () => Record<string, string>;
    retry: RetryPolicy;
    /** Called for each failed attempt that is retried (the simulator counts retries). */
    onRetry?: (reason: string) => void;
  },
): Promise<HttpResult> {
  let last = 'no attempt';
  for (let attempt = 0; attempt <= options.retry.retries; attempt++) {
    if (options.signal.aborted) throw new Error('aborted');
    if (attempt > 0) {
      options.onRetry?.(last);
      await sleep(retryDelayMs(options.retry, attempt), options.signal);
    }
    try {
      const result = await httpRequest({ ...options, headers: options.headers?.() ?? {} });
      if (result.status >= 200 && result.status < 300) return result;
      last = `HTTP ${result.status}`;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
  }
  throw new Error(`${options.method ?? 'GET'} ${new URL(options.url).pathname}: ${last}`);
}

/** Waits `ms`, or rejects at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) return reject(new Error('aborted'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
