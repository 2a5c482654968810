import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PowerActionContext } from '../driver.ts';
import { redactSecrets } from '../redact.ts';
import { setPower } from '../set-power.ts';
import {
  createWebhookPowerDriver,
  parseWebhookParams,
  type WebhookPowerParams,
} from './webhook.ts';

const PASSWORD = 'hunter2-very-secret';
const TOKEN = 'tok-0123456789abcdef';

/** One request the local server received. */
interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** What the server answers for a path: status and body, or `hang` to never answer. */
type Reply = { status: number; body?: string } | 'hang' | 'destroy';

let server: Server;
let base: string;
const received: Received[] = [];
let replies: Record<string, Reply> = {};

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const reply = replies[path] ?? { status: 200, body: 'ok' };
      if (reply === 'hang') return;
      if (reply === 'destroy') {
        req.socket.destroy();
        return;
      }
      res.writeHead(reply.status, { 'content-type': 'text/plain' });
      res.end(reply.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  received.length = 0;
  replies = {};
});

const context = (signal = new AbortController().signal): PowerActionContext => ({
  target: { machineId: 'm1', hostname: 'node1' },
  signal,
  pxeOnce: false,
});

const driver = createWebhookPowerDriver();

/** Raw parameters as an operator would give them, with overrides. */
function raw(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    on: {
      url: `${base}/on`,
      headers: { Authorization: 'Bearer {{token}}', 'X-Action': 'on' },
      body: '{"state":"on","pass":"{{password}}"}',
    },
    off: { url: `${base}/off?who={{username}}`, method: 'put', body: 'off' },
    cycle: { url: `${base}/cycle`, method: 'PATCH', headers: { 'X-Cycle': '1' } },
    query: {
      url: `${base}/status`,
      headers: { Authorization: 'Bearer {{token}}' },
      onPattern: '"power":\\s*"on"',
      offPattern: '"power":\\s*"off"',
    },
    username: 'admin',
    password: PASSWORD,
    token: TOKEN,
    timeoutMs: 2000,
    ...overrides,
  };
}

function parsed(overrides: Record<string, unknown> = {}): WebhookPowerParams {
  const result = parseWebhookParams(raw(overrides));
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

describe('webhook parameters', () => {
  it('fills in defaults: POST for actions, GET for the query, 10 s, TLS verified', () => {
    const result = parseWebhookParams({
      on: { url: 'http://bmc/on' },
      off: { url: 'http://bmc/off' },
      query: { url: 'http://bmc/q', onPattern: 'on', offPattern: 'off' },
    });
    expect(result.ok && result.value).toMatchObject({
      on: { method: 'POST', headers: {}, body: undefined },
      query: { method: 'GET' },
      cycle: undefined,
      timeoutMs: 10_000,
      verifyTls: true,
    });
  });

  it.each([
    ['not an object', 'x', 'parameters must be an object'],
    ['no on', { off: { url: 'http://b/' } }, 'on is required'],
    ['bad url', { on: { url: 'not a url' }, off: { url: 'http://b/' } }, 'on: url is not'],
    ['ftp url', { on: { url: 'ftp://b/' }, off: { url: 'http://b/' } }, 'must be http(s)'],
    [
      'bad method',
      { on: { url: 'http://b/', method: 'BREW' }, off: { url: 'http://b/' } },
      'method must be',
    ],
    [
      'bad pattern',
      {
        on: { url: 'http://b/' },
        off: { url: 'http://b/' },
        query: { url: 'http://b/', onPattern: '(', offPattern: 'off' },
      },
      'query.onPattern is not a valid',
    ],
    [
      'unknown placeholder',
      { on: { url: 'http://b/{{secret}}' }, off: { url: 'http://b/' } },
      'unknown placeholder {{secret}}',
    ],
    [
      'unset placeholder',
      { on: { url: 'http://b/', headers: { A: '{{token}}' } }, off: { url: 'http://b/' } },
      'uses {{token}} but token is not set',
    ],
    [
      'multi-line header',
      { on: { url: 'http://b/', headers: { A: 'x\r\nB: y' } }, off: { url: 'http://b/' } },
      'header A must be a single-line string',
    ],
    [
      'bad timeout',
      { on: { url: 'http://b/' }, off: { url: 'http://b/' }, timeoutMs: 0 },
      'timeoutMs must be',
    ],
  ])('refuses %s as a settings error', (_name, input, message) => {
    const result = parseWebhookParams(input);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.kind).toBe('settings');
      expect(result.error.message).toContain(message);
    }
  });

  it('never quotes a header value in an error', () => {
    const result = parseWebhookParams({
      on: { url: 'http://b/', headers: { Authorization: `Basic ${PASSWORD}\n` } },
      off: { url: 'http://b/' },
    });
    expect(!result.ok && result.error.message).not.toContain(PASSWORD);
  });
});

describe('webhook actions against a local HTTP server', () => {
  it('sends each action with its method, headers and body, secrets filled in', async () => {
    const params = parsed();
    expect((await driver.on(params, context())).ok).toBe(true);
    expect((await driver.off(params, context())).ok).toBe(true);
    expect((await driver.cycle(params, context())).ok).toBe(true);
    expect(received.map((r) => [r.method, r.url, r.body])).toEqual([
      ['POST', '/on', `{"state":"on","pass":"${PASSWORD}"}`],
      ['PUT', '/off?who=admin', 'off'],
      ['PATCH', '/cycle', ''],
    ]);
    expect(received[0]?.headers).toMatchObject({
      authorization: `Bearer ${TOKEN}`,
      'x-action': 'on',
      'content-length': String(Buffer.byteLength(received[0]?.body ?? '')),
    });
    expect(received[2]?.headers['x-cycle']).toBe('1');
  });

  it('percent-encodes secrets substituted into a URL', async () => {
    const params = parsed({
      password: 'a/b&c d',
      on: { url: `${base}/on?p={{password}}` },
    });
    expect((await driver.on(params, context())).ok).toBe(true);
    expect(received[0]?.url).toBe('/on?p=a%2Fb%26c%20d');
  });

  it('cycles as off then on when no cycle call is configured', async () => {
    const params = parsed({ cycle: undefined });
    expect((await driver.cycle(params, context())).ok).toBe(true);
    expect(received.map((r) => r.url)).toEqual(['/off?who=admin', '/on']);
  });

  it.each([
    ['{"power": "on"}', 'on'],
    ['{"power":"off"}', 'off'],
    ['{"power":"booting"}', 'unknown'],
  ] as const)('query reads %s as %s', async (body, state) => {
    replies['/status'] = { status: 200, body };
    expect(await driver.query(parsed(), context())).toEqual({ ok: true, value: state });
    expect(received[0]).toMatchObject({ method: 'GET', url: '/status' });
    expect(received[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('answers unknown without a query call, so set-power does not verify', async () => {
    const params = parsed({ query: undefined });
    expect(await driver.query(params, context())).toEqual({ ok: true, value: 'unknown' });
    const result = await setPower(driver, params, { action: 'on', uefi: false }, context());
    expect(result).toMatchObject({ ok: true, value: { state: 'unknown', verified: false } });
  });

  it('is verified by set-power through the query pattern', async () => {
    replies['/status'] = { status: 200, body: '{"power":"on"}' };
    const result = await setPower(driver, parsed(), { action: 'on', uefi: false }, context());
    expect(result).toMatchObject({ ok: true, value: { state: 'on', verified: true } });
  });

  it.each([
    [401, 'auth'],
    [403, 'auth'],
    [404, 'action'],
    [500, 'action'],
    [302, 'action'],
  ] as const)('maps status %i to a %s error', async (status, kind) => {
    replies['/on'] = { status, body: `denied for ${PASSWORD} ${TOKEN}` };
    const result = await driver.on(parsed(), context());
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.kind).toBe(kind);
      expect(result.error.message).toMatch(
        new RegExp(`^POST http://127\\.0\\.0\\.1:\\d+/on answered ${status}`),
      );
    }
  });

  it('reports a refused connection as a connection error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const result = await driver.on(
      parsed({ on: { url: `http://127.0.0.1:${port}/on` } }),
      context(),
    );
    expect(result).toEqual({
      ok: false,
      error: { kind: 'connection', message: `POST http://127.0.0.1:${port}/on: ECONNREFUSED` },
    });
  });

  it('reports a dropped connection as a connection error', async () => {
    replies['/on'] = 'destroy';
    const result = await driver.on(parsed(), context());
    expect(!result.ok && result.error.kind).toBe('connection');
  });

  it('gives up after timeoutMs with a connection error', async () => {
    replies['/on'] = 'hang';
    const started = Date.now();
    const result = await driver.on(parsed({ timeoutMs: 150 }), context());
    expect(result).toEqual({
      ok: false,
      error: {
        kind: 'connection',
        message: expect.stringMatching(/no answer in 150 ms$/) as string,
      },
    });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('stops when the agent shuts down', async () => {
    replies['/on'] = 'hang';
    const abort = new AbortController();
    const pending = driver.on(parsed(), context(abort.signal));
    setTimeout(() => abort.abort(), 50);
    const result = await pending;
    expect(!result.ok && result.error).toMatchObject({ kind: 'connection' });
    expect(!result.ok && result.error.message).toMatch(/aborted$/);
  });

  it('keeps secrets out of every failure message set-power returns', async () => {
    // A URL carrying secrets, a BMC that echoes them: nothing may surface.
    replies['/on'] = { status: 500, body: PASSWORD };
    const params = parsed({
      on: { url: `http://admin:${PASSWORD}@127.0.0.1:${new URL(base).port}/on?t={{token}}` },
    });
    const failures = [
      await setPower(driver, params, { action: 'on', uefi: false }, context(), {
        maxAttempts: 1,
      }),
      await setPower(
        driver,
        parsed({ on: { url: 'http://127.0.0.1:1/{{password}}/{{token}}' } }),
        { action: 'on', uefi: false },
        context(),
        { maxAttempts: 1 },
      ),
    ];
    for (const failure of failures) {
      expect(failure.ok).toBe(false);
      const text = JSON.stringify(failure);
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(TOKEN);
    }
  });

  it('declares password and token secret, so the shared redaction hides them', () => {
    expect(driver.secretFields).toEqual(['password', 'token']);
    const params = parsed();
    expect(redactSecrets(`x ${PASSWORD} y ${TOKEN}`, params, driver.secretFields)).toBe(
      'x *** y ***',
    );
  });
});
