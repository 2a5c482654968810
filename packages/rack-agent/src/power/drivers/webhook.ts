import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { err, ok, type Result } from '@ingot/common';
import type {
  PowerActionContext,
  PowerActionOutcome,
  PowerDriver,
  PowerError,
  PowerState,
} from '../driver.ts';

/** One HTTP call the driver makes: templates, before `{{…}}` substitution. */
export interface WebhookCall {
  readonly url: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | undefined;
}

/** The status call: its response body is matched against the patterns. */
export interface WebhookQuery extends WebhookCall {
  readonly onPattern: RegExp;
  readonly offPattern: RegExp;
}

/**
 * Parsed webhook parameters. Secrets live only in the top-level `password` and `token` (the
 * driver's `secretFields`, which `redact.ts` scrubs from every message); URLs, header values and
 * bodies refer to them as `{{password}}` and `{{token}}` (and `{{username}}`), e.g.
 * `headers: { Authorization: 'Bearer {{token}}' }`. A secret written literally into a header
 * would be sent, but could not be redacted: keep secrets in the two fields.
 */
export interface WebhookPowerParams {
  readonly on: WebhookCall;
  readonly off: WebhookCall;
  /** Without it, a cycle is `off` then `on`. */
  readonly cycle: WebhookCall | undefined;
  /** Without it, the state is `unknown` and set-power skips verification. */
  readonly query: WebhookQuery | undefined;
  readonly timeoutMs: number;
  /** `false` accepts any TLS certificate (self-signed BMC gateways). */
  readonly verifyTls: boolean;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly token: string | undefined;
}

/** Default per-request timeout. */
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;
/** Methods a webhook may use. */
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
/** Placeholders a template may use, and the parameter each reads. */
const PLACEHOLDERS = ['username', 'password', 'token'] as const;
type Placeholder = (typeof PLACEHOLDERS)[number];
/** The most of a query response read for matching; the rest is ignored. */
const MAX_QUERY_BODY_BYTES = 64 * 1024;
/** RFC 9110 `token`, the shape of a header name. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Power through plain HTTP calls (MAAS `webhook`): a configurable URL, method, headers and body
 * per action, and a query URL whose response body is matched against an "on" and an "off"
 * pattern. 2xx is success; 401/403 are `auth`; any other status is `action`; network failures
 * and timeouts are `connection`. Uses `node:http(s)` rather than `fetch` because Node's `fetch`
 * cannot skip certificate verification per request (`verifyTls: false`) without undici's
 * dispatcher, which is not a dependency. Messages name the method and the URL template without
 * user info or query string, never header values or bodies.
 */
export function createWebhookPowerDriver(): PowerDriver<WebhookPowerParams> {
  const act = async (
    call: WebhookCall,
    params: WebhookPowerParams,
    context: PowerActionContext,
  ): Promise<Result<PowerActionOutcome, PowerError>> => {
    const response = await send(call, params, context, 0);
    if (!response.ok) return response;
    return ok({ state: 'unknown' });
  };
  return {
    type: 'webhook',
    secretFields: ['password', 'token'],
    parseParams: parseWebhookParams,
    on: (params, context) => act(params.on, params, context),
    off: (params, context) => act(params.off, params, context),
    async cycle(params, context) {
      if (params.cycle !== undefined) return act(params.cycle, params, context);
      const off = await act(params.off, params, context);
      if (!off.ok) return off;
      return act(params.on, params, context);
    },
    async query(params, context): Promise<Result<PowerState, PowerError>> {
      const { query } = params;
      if (query === undefined) return ok('unknown');
      const response = await send(query, params, context, MAX_QUERY_BODY_BYTES);
      if (!response.ok) return response;
      // Checked in this order, like MAAS: a body matching both patterns reads as on.
      if (query.onPattern.test(response.value)) return ok('on');
      if (query.offPattern.test(response.value)) return ok('off');
      return ok('unknown');
    },
  };
}

/** Validates raw parameters from the controller. Messages never quote values. */
export function parseWebhookParams(raw: unknown): Result<WebhookPowerParams, PowerError> {
  const fail = (message: string): Result<never, PowerError> =>
    err({ kind: 'settings', message: `webhook: ${message}` });
  if (!isRecord(raw)) return fail('parameters must be an object');

  const strings: Partial<Record<Placeholder, string>> = {};
  for (const name of PLACEHOLDERS) {
    const value = raw[name];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') return fail(`${name} must be a string`);
    strings[name] = value;
  }

  let timeoutMs = DEFAULT_WEBHOOK_TIMEOUT_MS;
  if (raw.timeoutMs !== undefined) {
    const t = raw.timeoutMs;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 1 || t > 300_000) {
      return fail('timeoutMs must be an integer from 1 to 300000');
    }
    timeoutMs = t;
  }
  let verifyTls = true;
  if (raw.verifyTls !== undefined) {
    if (typeof raw.verifyTls !== 'boolean') return fail('verifyTls must be true or false');
    verifyTls = raw.verifyTls;
  }

  const calls: Partial<Record<'on' | 'off' | 'cycle' | 'query', WebhookCall>> = {};
  for (const action of ['on', 'off', 'cycle', 'query'] as const) {
    const value = raw[action];
    if (value === undefined || value === null) {
      if (action === 'on' || action === 'off') return fail(`${action} is required`);
      continue;
    }
    const call = parseCall(value, action === 'query' ? 'GET' : 'POST', strings);
    if (!call.ok) return fail(`${action}: ${call.error.message}`);
    calls[action] = call.value;
  }
  const { on, off, cycle } = calls;
  if (on === undefined || off === undefined) return fail('on and off are required');

  let query: WebhookQuery | undefined;
  if (calls.query !== undefined) {
    const spec = raw.query as Record<string, unknown>;
    const onPattern = parsePattern(spec.onPattern);
    if (!onPattern.ok) return fail(`query.onPattern ${onPattern.error.message}`);
    const offPattern = parsePattern(spec.offPattern);
    if (!offPattern.ok) return fail(`query.offPattern ${offPattern.error.message}`);
    query = { ...calls.query, onPattern: onPattern.value, offPattern: offPattern.value };
  }

  return ok({
    on,
    off,
    cycle,
    query,
    timeoutMs,
    verifyTls,
    username: strings.username,
    password: strings.password,
    token: strings.token,
  });
}

/** A `settings` error for one part of the parameters. */
function invalid(message: string): Result<never, PowerError> {
  return err({ kind: 'settings', message });
}

function parseCall(
  raw: unknown,
  defaultMethod: string,
  strings: Partial<Record<Placeholder, string>>,
): Result<WebhookCall, PowerError> {
  if (!isRecord(raw)) return invalid('must be an object with a url');
  if (typeof raw.url !== 'string' || raw.url === '')
    return invalid('url must be a non-empty string');
  const placeholders = checkPlaceholders(raw.url, strings);
  if (placeholders !== undefined) return invalid(`url ${placeholders}`);
  let url: URL;
  try {
    url = new URL(substitute(raw.url, { username: 'u', password: 'p', token: 't' }));
  } catch {
    return invalid('url is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return invalid('url must be http(s)');

  let method = defaultMethod;
  if (raw.method !== undefined) {
    const m = typeof raw.method === 'string' ? raw.method.toUpperCase() : '';
    if (!(METHODS as readonly string[]).includes(m)) {
      return invalid(`method must be one of ${METHODS.join(', ')}`);
    }
    method = m;
  }

  const headers: Record<string, string> = {};
  if (raw.headers !== undefined) {
    if (!isRecord(raw.headers)) return invalid('headers must be an object of strings');
    for (const [name, value] of Object.entries(raw.headers)) {
      if (!HEADER_NAME.test(name)) return invalid(`header name "${name}" is not valid`);
      // The value is not quoted: it may be a secret written literally.
      if (typeof value !== 'string' || /[\r\n\0]/.test(value)) {
        return invalid(`header ${name} must be a single-line string`);
      }
      const bad = checkPlaceholders(value, strings);
      if (bad !== undefined) return invalid(`header ${name} ${bad}`);
      headers[name] = value;
    }
  }

  let body: string | undefined;
  if (raw.body !== undefined && raw.body !== null) {
    if (typeof raw.body !== 'string') return invalid('body must be a string');
    const bad = checkPlaceholders(raw.body, strings);
    if (bad !== undefined) return invalid(`body ${bad}`);
    body = raw.body;
  }
  return ok({ url: raw.url, method, headers, body });
}

function parsePattern(raw: unknown): Result<RegExp, PowerError> {
  if (typeof raw !== 'string' || raw === '')
    return invalid('must be a non-empty regular expression');
  try {
    return ok(new RegExp(raw));
  } catch {
    return invalid('is not a valid regular expression');
  }
}

/** Why a template's placeholders are unusable, or undefined when they are fine. */
function checkPlaceholders(
  template: string,
  strings: Partial<Record<Placeholder, string>>,
): string | undefined {
  for (const match of template.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)) {
    const name = match[1] ?? '';
    if (!(PLACEHOLDERS as readonly string[]).includes(name)) {
      return `uses an unknown placeholder {{${name}}} (known: ${PLACEHOLDERS.join(', ')})`;
    }
    if (strings[name as Placeholder] === undefined)
      return `uses {{${name}}} but ${name} is not set`;
  }
  return undefined;
}

/** Fills in placeholders; `encode` percent-encodes the values (for URLs). */
function substitute(
  template: string,
  values: Partial<Record<Placeholder, string>>,
  encode: (value: string) => string = (value) => value,
): string {
  return template.replace(/\{\{\s*([^}]*?)\s*\}\}/g, (_whole, name: string) =>
    encode(values[name as Placeholder] ?? ''),
  );
}

/** `METHOD scheme://host/path` of a call's template: no user info, query string or secret. */
function describeCall(call: WebhookCall): string {
  try {
    const u = new URL(call.url);
    return `${call.method} ${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    // A placeholder in the host makes the template itself unparsable: name the method only.
    return `${call.method} (templated URL)`;
  }
}

/**
 * Makes one call and returns the first `maxBodyBytes` of the response body on a 2xx answer.
 * Aborts on `context.signal` (agent shutdown) and after `params.timeoutMs`.
 */
async function send(
  call: WebhookCall,
  params: WebhookPowerParams,
  context: PowerActionContext,
  maxBodyBytes: number,
): Promise<Result<string, PowerError>> {
  const what = describeCall(call);
  const values = { username: params.username, password: params.password, token: params.token };
  const url = new URL(substitute(call.url, values, encodeURIComponent));
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(call.headers)) {
    headers[name] = substitute(value, values);
  }
  const body = call.body === undefined ? undefined : Buffer.from(substitute(call.body, values));
  if (body !== undefined) headers['content-length'] = String(body.length);

  const timeout = AbortSignal.timeout(params.timeoutMs);
  const signal = AbortSignal.any([context.signal, timeout]);
  let response: { status: number; statusText: string; text: string };
  try {
    response = await exchange(url, call.method, headers, body, signal, params.verifyTls, {
      maxBodyBytes,
    });
  } catch (error: unknown) {
    if (timeout.aborted) {
      return err({ kind: 'connection', message: `${what}: no answer in ${params.timeoutMs} ms` });
    }
    if (context.signal.aborted) return err({ kind: 'connection', message: `${what}: aborted` });
    return err({ kind: 'connection', message: `${what}: ${networkReason(error)}` });
  }
  const { status, statusText } = response;
  const answered = `${what} answered ${status}${statusText === '' ? '' : ` ${statusText}`}`;
  if (status >= 200 && status < 300) return ok(response.text);
  if (status === 401 || status === 403) return err({ kind: 'auth', message: answered });
  return err({ kind: 'action', message: answered });
}

function exchange(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
  signal: AbortSignal,
  verifyTls: boolean,
  limits: { readonly maxBodyBytes: number },
): Promise<{ status: number; statusText: string; text: string }> {
  return new Promise((resolve, reject) => {
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < limits.maxBodyBytes) chunks.push(chunk);
        size += chunk.length;
      });
      res.once('error', reject);
      res.once('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? '',
          text: Buffer.concat(chunks).subarray(0, limits.maxBodyBytes).toString('utf8'),
        }),
      );
    };
    const options = { method, headers, signal };
    const req =
      url.protocol === 'https:'
        ? httpsRequest(url, { ...options, rejectUnauthorized: verifyTls }, onResponse)
        : httpRequest(url, options, onResponse);
    req.once('error', reject);
    req.end(body);
  });
}

/** A network failure's cause without the URL (which may hold a substituted secret). */
function networkReason(error: unknown): string {
  if (isRecord(error) && typeof error.code === 'string') return error.code;
  return 'network error';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
