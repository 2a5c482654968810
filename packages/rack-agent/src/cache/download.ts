/**
 * One attempt at fetching an image file from the controller into a partial file, resuming from
 * the bytes the partial already holds (RFC 9110 §14: `Range: bytes=<have>-`, `If-Range` on the
 * sha256 ETag so a partial copy of anything else is never extended).
 */
import { open, stat, truncate } from 'node:fs/promises';

/** How an attempt ended. */
export type DownloadOutcome =
  /** The partial file now holds `sizeBytes` bytes (not yet verified). */
  | { readonly kind: 'complete'; readonly receivedBytes: number }
  /** Worth another attempt: the connection dropped, the controller hiccuped. */
  | { readonly kind: 'retry'; readonly receivedBytes: number; readonly reason: string }
  /** No attempt can succeed: the controller does not have the file or refuses this rack. */
  | { readonly kind: 'fatal'; readonly reason: string };

/** What one attempt needs. */
export interface DownloadRequest {
  readonly url: string;
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly partialPath: string;
  /** The `Authorization` header value (rack credentials). */
  readonly authorization?: string | undefined;
  readonly fetch: typeof fetch;
  readonly signal?: AbortSignal | undefined;
  /** A stalled transfer (no bytes for this long) is abandoned and retried. */
  readonly idleTimeoutMs: number;
}

/** Bytes already in `path` (0 when missing). */
export async function partialSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/**
 * Runs one attempt. Never throws for network or HTTP failures; they come back as `retry` or
 * `fatal`. Bytes received before a failure stay in the partial file for the next attempt.
 */
export async function downloadAttempt(request: DownloadRequest): Promise<DownloadOutcome> {
  let have = await partialSize(request.partialPath);
  if (have > request.sizeBytes) {
    await truncate(request.partialPath, 0);
    have = 0;
  }
  if (have === request.sizeBytes) return { kind: 'complete', receivedBytes: 0 };
  const headers: Record<string, string> = {};
  if (request.authorization !== undefined) headers.authorization = request.authorization;
  if (have > 0) {
    headers.range = `bytes=${have}-`;
    headers['if-range'] = `"${request.sha256}"`;
  }
  // Aborted on stall as well as on the caller's signal.
  const stall = new AbortController();
  const signal =
    request.signal === undefined ? stall.signal : AbortSignal.any([stall.signal, request.signal]);
  let timer = setTimeout(() => stall.abort(), request.idleTimeoutMs);
  const alive = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => stall.abort(), request.idleTimeoutMs);
  };
  let received = 0;
  try {
    const response = await request.fetch(request.url, { headers, signal });
    alive();
    if (response.status === 404 || response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      return { kind: 'fatal', reason: `the controller answered ${response.status}` };
    }
    if (response.status === 416) {
      // Our partial copy is no prefix of the file: start over.
      await response.body?.cancel();
      await truncate(request.partialPath, 0);
      return { kind: 'retry', receivedBytes: 0, reason: 'range not satisfiable' };
    }
    let offset: number;
    if (response.status === 206) {
      const range = /^bytes (\d+)-\d+\/\d+$/.exec(response.headers.get('content-range') ?? '');
      if (range?.[1] === undefined || Number(range[1]) !== have) {
        await response.body?.cancel();
        await truncate(request.partialPath, 0);
        return { kind: 'retry', receivedBytes: 0, reason: 'the controller sent another range' };
      }
      offset = have;
    } else if (response.status === 200) {
      offset = 0;
    } else {
      await response.body?.cancel();
      return {
        kind: 'retry',
        receivedBytes: 0,
        reason: `the controller answered ${response.status}`,
      };
    }
    if (response.body === null) return { kind: 'retry', receivedBytes: 0, reason: 'no body' };
    const body: AsyncIterable<Uint8Array> = response.body;
    const file = await open(request.partialPath, offset === 0 ? 'w' : 'r+', 0o600);
    try {
      let position = offset;
      for await (const chunk of body) {
        alive();
        // Never write past the announced size: a longer body is wrong whatever it holds.
        const room = request.sizeBytes - position;
        const part = chunk.byteLength > room ? chunk.subarray(0, room) : chunk;
        await file.write(part, 0, part.byteLength, position);
        position += part.byteLength;
        received += part.byteLength;
        if (part.byteLength < chunk.byteLength) break;
      }
      await file.truncate(position);
      await file.sync();
      return position === request.sizeBytes
        ? { kind: 'complete', receivedBytes: received }
        : { kind: 'retry', receivedBytes: received, reason: `body ended at byte ${position}` };
    } finally {
      await file.close();
    }
  } catch (error: unknown) {
    if (request.signal?.aborted === true) return { kind: 'fatal', reason: 'aborted' };
    const reason = stall.signal.aborted
      ? `no bytes for ${request.idleTimeoutMs} ms`
      : error instanceof Error
        ? error.cause instanceof Error
          ? error.cause.message
          : error.message
        : String(error);
    return { kind: 'retry', receivedBytes: received, reason };
  } finally {
    clearTimeout(timer);
  }
}
