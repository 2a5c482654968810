import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, call } from './client.ts';

/** A stand-in controller on 127.0.0.1 answering each path with a fixed problem document. */
const answers: Record<string, { status: number; body: unknown }> = {
  '/api/v1/machines/m-1/release': {
    status: 409,
    body: {
      type: 'https://ingot.dev/problems/invalid-transition',
      title: 'Action not allowed in this status',
      status: 409,
      detail: 'machine m-1 is deploying: release is not allowed (allowed: abort, mark_broken)',
      status_name: 'deploying',
      action: 'release',
      allowed: ['abort', 'mark_broken'],
    },
  },
  '/api/v1/machines/m-3/release': {
    status: 409,
    body: {
      type: 'https://ingot.dev/problems/invalid-transition',
      title: 'Action not allowed in this status',
      status: 409,
      detail: 'machine m-3 is releasing: release is not allowed',
      status_name: 'releasing',
      allowed: ['released', 'release_failed', 'timeout', 'mark_broken'],
    },
  },
  '/api/v1/machines/m-2/deploy': {
    status: 409,
    body: {
      type: 'https://ingot.dev/problems/locked',
      title: 'Machine is locked',
      status: 409,
      detail: 'machine m-2 is locked; unlock it first',
    },
  },
  '/api/v1/machines': {
    status: 401,
    body: {
      type: 'https://ingot.dev/problems/unauthenticated',
      title: 'Unauthenticated',
      status: 401,
      detail: 'missing, malformed or unknown API key',
    },
  },
  '/api/v1/boom': { status: 500, body: 'oops' },
};
let server: Server;
let url = '';
beforeAll(async () => {
  server = createServer((req, res) => {
    const a = answers[req.url ?? ''] ?? { status: 404, body: {} };
    res.writeHead(a.status, { 'content-type': 'application/problem+json' });
    res.end(typeof a.body === 'string' ? a.body : JSON.stringify(a.body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => server.close());

async function failure(p: Promise<unknown>): Promise<ApiError> {
  const e: unknown = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!(e instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(e)}`);
  return e;
}

describe('API errors', () => {
  it('409 invalid transition: the detail, the title, and the commands allowed now', async () => {
    const e = await failure(call({ url, key: 'k' }, 'POST', '/api/v1/machines/m-1/release'));
    expect(e.message).toBe(
      '409 Conflict: machine m-1 is deploying: release is not allowed (allowed: abort, mark_broken) (Action not allowed in this status)',
    );
    expect(e.hint).toBe(
      'the machine is deploying; allowed now: ingot machines abort m-1 | ingot machines mark-broken m-1',
    );
  });

  it('409 while the machine is busy: only the operator’s actions, not the machine’s', async () => {
    const e = await failure(call({ url, key: 'k' }, 'POST', '/api/v1/machines/m-3/release'));
    expect(e.hint).toBe('the machine is releasing; allowed now: ingot machines mark-broken m-3');
  });

  it('409 locked: how to unlock', async () => {
    const e = await failure(call({ url, key: 'k' }, 'POST', '/api/v1/machines/m-2/deploy'));
    expect(e.hint).toBe('unlock it first: ingot machines unlock m-2');
  });

  it('401: where a key comes from, or that the given one is wrong', async () => {
    const none = await failure(call({ url, key: undefined }, 'GET', '/api/v1/machines'));
    expect(none.message).toBe('401 Unauthorized: missing, malformed or unknown API key');
    expect(none.hint).toMatch(/set INGOT_API_KEY or pass --key .*admin\.key/);
    const wrong = await failure(call({ url, key: 'nope' }, 'GET', '/api/v1/machines'));
    expect(wrong.hint).toMatch(/was not accepted/);
  });

  it('5xx without a problem document: the text, and where to look', async () => {
    const e = await failure(call({ url, key: 'k' }, 'GET', '/api/v1/boom'));
    expect(e.message).toBe('500 Internal Server Error: oops');
    expect(e.hint).toMatch(/controller failed/);
  });

  it('no controller: says so, and how to point the CLI at one', async () => {
    const e = await failure(
      call({ url: 'http://127.0.0.1:1', key: 'k' }, 'GET', '/api/v1/machines'),
    );
    expect(e.status).toBe(0);
    expect(e.message).toMatch(/^cannot reach the controller at http:\/\/127\.0\.0\.1:1/);
    expect(e.hint).toMatch(/pnpm start.*INGOT_URL/);
  });
});
