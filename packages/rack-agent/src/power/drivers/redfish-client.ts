/**
 * The HTTP side of the Redfish driver: JSON requests over `node:https`/`node:http` with
 * per-driver certificate verification, Basic or session (`X-Auth-Token`) auth, and transport
 * and status errors mapped to {@link PowerError} kinds.
 *
 * `node:https` rather than `fetch`: Node 20's `fetch` can skip certificate checks only through
 * an undici `Agent` dispatcher, and undici is not a dependency; `rejectUnauthorized` on one
 * request touches nothing else in the process.
 */
import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { err, ok, type Result } from '@ingot/common';
import type { PowerError } from '../driver.ts';

/** How the driver reaches one BMC. */
export interface RedfishEndpoint {
  /** `https://host[:port]`; only the origin is used. */
  readonly origin: string;
  readonly username: string;
  readonly password: string;
  readonly verifyTls: boolean;
  readonly authMode: 'session' | 'basic';
}

/** A parsed reply. `body` is undefined when the reply had none or it was not JSON. */
export interface RedfishResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
}

/** Sends one authenticated request; see {@link createRedfishClient}. */
export type RedfishCall = (
  endpoint: RedfishEndpoint,
  method: 'GET' | 'POST' | 'PATCH',
  path: string,
  options: {
    readonly body?: unknown;
    readonly headers?: Readonly<Record<string, string>>;
    readonly signal: AbortSignal;
  },
) => Promise<Result<RedfishResponse, PowerError>>;

/** Where sessions are created (fixed by DSP0266). */
export const SESSIONS_PATH = '/redfish/v1/SessionService/Sessions';

/** Transport error codes that mean "certificate not trusted": fixing them is configuration. */
const TLS_TRUST_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * Creates a client that keeps one session token per BMC and credentials (tokens are reused
 * across actions; a BMC has few session slots). On a 401 with a reused token it logs in again
 * once, as tokens expire on the BMC's idle timeout. 401/403 otherwise are `auth` errors; other
 * statuses are returned for the caller to judge.
 */
export function createRedfishClient(options: { readonly timeoutMs: number }): RedfishCall {
  const tokens = new Map<string, string>();
  const keyOf = (e: RedfishEndpoint): string =>
    createHash('sha256').update(`${e.origin}\0${e.username}\0${e.password}`).digest('hex');

  const login = async (
    endpoint: RedfishEndpoint,
    signal: AbortSignal,
  ): Promise<Result<string, PowerError>> => {
    const body = { UserName: endpoint.username, Password: endpoint.password };
    const sent = await send(endpoint, 'POST', SESSIONS_PATH, body, {}, signal, options.timeoutMs);
    if (!sent.ok) return sent;
    const { status, headers } = sent.value;
    if (status === 401 || status === 403) {
      return err({
        kind: 'auth',
        message: `Redfish login as "${endpoint.username}" refused (HTTP ${status})`,
      });
    }
    if (status === 404 || status === 405) {
      return err({
        kind: 'settings',
        message: `Redfish BMC has no session service (HTTP ${status}); use authMode "basic"`,
      });
    }
    const token = headers['x-auth-token'];
    if (status < 200 || status > 299 || typeof token !== 'string' || token === '') {
      return err({
        kind: 'action',
        message: `Redfish login failed: HTTP ${status}${describeBody(sent.value.body)}`,
      });
    }
    tokens.set(keyOf(endpoint), token);
    return ok(token);
  };

  return async (endpoint, method, path, { body, headers = {}, signal }) => {
    const attempt = async (
      token: string | undefined,
    ): Promise<Result<RedfishResponse, PowerError>> => {
      const auth: Record<string, string> =
        token === undefined
          ? {
              Authorization: `Basic ${Buffer.from(`${endpoint.username}:${endpoint.password}`).toString('base64')}`,
            }
          : { 'X-Auth-Token': token };
      return send(endpoint, method, path, body, { ...headers, ...auth }, signal, options.timeoutMs);
    };

    let response: Result<RedfishResponse, PowerError>;
    if (endpoint.authMode === 'basic') {
      response = await attempt(undefined);
    } else {
      const cached = tokens.get(keyOf(endpoint));
      const token = cached ?? (await login(endpoint, signal));
      if (typeof token !== 'string' && !token.ok) return token;
      response = await attempt(typeof token === 'string' ? token : token.value);
      if (response.ok && response.value.status === 401 && cached !== undefined) {
        tokens.delete(keyOf(endpoint));
        const fresh = await login(endpoint, signal);
        if (!fresh.ok) return fresh;
        response = await attempt(fresh.value);
      }
    }
    if (!response.ok) return response;
    const { status } = response.value;
    if (status === 401 || status === 403) {
      if (status === 401) tokens.delete(keyOf(endpoint));
      return err({
        kind: 'auth',
        message: `Redfish ${method} ${path}: HTTP ${status}${describeBody(response.value.body)}`,
      });
    }
    return response;
  };
}

/** One request without auth logic; transport failures become `connection`/`settings`. */
function send(
  endpoint: RedfishEndpoint,
  method: string,
  path: string,
  body: unknown,
  headers: Readonly<Record<string, string>>,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<Result<RedfishResponse, PowerError>> {
  const url = new URL(path, endpoint.origin);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: Result<RedfishResponse, PowerError>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const req = request(
      url,
      {
        method,
        signal,
        rejectUnauthorized: endpoint.verifyTls,
        headers: {
          Accept: 'application/json',
          'OData-Version': '4.0',
          ...(payload === undefined
            ? {}
            : {
                'Content-Type': 'application/json',
                'Content-Length': String(Buffer.byteLength(payload)),
              }),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => finish(err(transportError(method, url, e))));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text.trim() === '' ? undefined : JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          finish(ok({ status: res.statusCode ?? 0, headers: res.headers, body: parsed }));
        });
      },
    );
    const timer = setTimeout(() => {
      const e = Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' });
      req.destroy(e);
    }, timeoutMs);
    req.on('error', (e) => finish(err(transportError(method, url, e))));
    req.end(payload);
  });
}

function transportError(method: string, url: URL, error: Error): PowerError {
  const code: unknown = Reflect.get(error, 'code');
  const where = `Redfish ${method} ${url.origin}${url.pathname}`;
  if (typeof code === 'string' && TLS_TRUST_CODES.has(code)) {
    return {
      kind: 'settings',
      message: `${where}: TLS certificate not trusted (${code}); trust it or set verifyTls: false`,
    };
  }
  const detail = typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  return { kind: 'connection', message: `${where}: ${detail}` };
}

/** `: <message>` from a Redfish error body, or nothing. */
export function describeBody(body: unknown): string {
  if (typeof body !== 'object' || body === null) return '';
  const error: unknown = Reflect.get(body, 'error');
  if (typeof error !== 'object' || error === null) return '';
  const info: unknown = Reflect.get(error, '@Message.ExtendedInfo');
  const first: unknown = Array.isArray(info) ? info[0] : undefined;
  const extended: unknown =
    typeof first === 'object' && first !== null ? Reflect.get(first, 'Message') : undefined;
  const message: unknown = Reflect.get(error, 'message');
  const text = typeof extended === 'string' ? extended : message;
  return typeof text === 'string' && text !== '' ? `: ${text.slice(0, 300)}` : '';
}
