/**
 * The controller's REST API as the fleet's operator uses it, across several controllers: a
 * request goes to the first controller that answers; connection errors and 502/503/504 move on
 * to the next, with a bounded number of rounds and a pause between them (controllers restarted
 * under chaos come back).
 */
import { sleep } from './http-client.ts';

/** A controller as the fleet sees it. */
export interface ControllerRef {
  /** `http://host:port`. */
  readonly url: string;
  /** gRPC `host:port` for the agent. */
  readonly grpc: string;
}

/** A response. */
export interface ApiReply<T> {
  readonly status: number;
  readonly body: T;
}

/** Calls `path` on the first live controller; throws after `rounds` rounds of all failing. */
export async function callApi<T>(
  controllers: readonly ControllerRef[],
  key: string,
  method: string,
  path: string,
  body?: unknown,
  options: { rounds?: number; pauseMs?: number } = {},
): Promise<ApiReply<T>> {
  const rounds = options.rounds ?? 30;
  let last = '';
  for (let round = 0; round < rounds; round++) {
    if (round > 0) await sleep(options.pauseMs ?? 1000);
    for (const c of controllers) {
      try {
        const res = await fetch(c.url + path, {
          method,
          headers: {
            authorization: `Bearer ${key}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? null : JSON.stringify(body),
          signal: AbortSignal.timeout(30_000),
        });
        const text = await res.text();
        if (res.status === 502 || res.status === 503 || res.status === 504) {
          last = `${c.url}: HTTP ${res.status}`;
          continue;
        }
        return { status: res.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
      } catch (e) {
        last = `${c.url}: ${e instanceof Error ? e.message : String(e)}`;
      }
    }
  }
  throw new Error(`${method} ${path}: no controller answered (${last})`);
}
