/**
 * The HTTP side of the brute-force limits (`app/auth-limiter.ts`): who the client is, and the 429
 * every refused attempt gets.
 */
import type { Context } from 'hono';
import type { RateLimited } from '../app/auth-limiter.ts';
import { problem, type Problem } from './problem.ts';

/** What `@hono/node-server` puts in `c.env`: the Node request, with its socket. */
interface NodeBindings {
  readonly incoming?: { readonly socket?: { readonly remoteAddress?: string } };
  readonly server?: NodeBindings;
}

/** The client's address, or `unknown` when the request did not come over a socket (tests). */
export function clientAddress(c: { readonly env: unknown }): string {
  const bindings = c.env as NodeBindings | undefined;
  return (bindings?.server ?? bindings)?.incoming?.socket?.remoteAddress ?? 'unknown';
}

/**
 * A machine's address on the metadata service: machines reach it through their rack's proxy, so
 * every machine of a rack shares the rack's address here, and one machine's stale token must not
 * lock out its neighbours. The rack appends the machine's address to `X-Forwarded-For`; the last
 * entry is it, paired with the connecting address. A client that forges the header can spread
 * its failures over many "sources", but the per-token count still limits it.
 */
export function metadataSource(c: Context): string {
  const peer = clientAddress(c);
  const forwarded = c.req.header('x-forwarded-for')?.split(',').at(-1)?.trim();
  return forwarded === undefined || forwarded === '' ? peer : `${peer}>${forwarded.slice(0, 64)}`;
}

/** The problem document and headers of the 429 for a refused attempt. */
export function tooManyAttemptsProblem(
  e: RateLimited,
  what = 'authentication',
): { body: Problem; headers: Record<string, string> } {
  const detail = `too many failed ${what} attempts; try again in ${e.retryAfterSeconds} s`;
  return {
    body: problem(429, 'rate-limited', 'Too many failed attempts', detail),
    headers: {
      'content-type': 'application/problem+json',
      'retry-after': String(e.retryAfterSeconds),
    },
  };
}

/** The problem+json 429 with `Retry-After` for a refused attempt. */
export function tooManyAttempts(e: RateLimited, what = 'authentication'): Response {
  const { body, headers } = tooManyAttemptsProblem(e, what);
  return new Response(JSON.stringify(body), { status: 429, headers });
}
