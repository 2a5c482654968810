/**
 * The OAuth 1.0 `Authorization` header as MAAS's metadata clients send it (RFC 5849 §3.5.1) with
 * the PLAINTEXT signature method (§3.4.4). Pure codec: no I/O, never throws.
 *
 * ```
 * Authorization: OAuth realm="ingot", oauth_consumer_key="CK", oauth_token="TK",
 *     oauth_signature_method="PLAINTEXT", oauth_signature="%26TS", oauth_nonce="…",
 *     oauth_timestamp="…", oauth_version="1.0"
 * ```
 *
 * Parameters come in any order, separated by commas with optional spaces; values are
 * percent-encoded (§3.6) and quoted (unquoted values are accepted: some clients omit quotes).
 * The PLAINTEXT signature is `encode(consumer_secret) "&" encode(token_secret)`, percent-encoded
 * again in the header, so cloud-init's oauthlib sends `oauth_signature="%26<token secret>"`.
 */
import { err, ok, type Result } from '@ingot/common';

/** The credentials of a PLAINTEXT-signed request. */
export interface OAuthCredentials {
  readonly consumerKey: string;
  readonly token: string;
  readonly consumerSecret: string;
  readonly tokenSecret: string;
  readonly nonce?: string | undefined;
  readonly timestamp?: string | undefined;
}

/** Why a header was refused. */
export interface OAuthHeaderError {
  readonly kind: 'missing' | 'malformed' | 'unsupported';
  readonly detail: string;
}

const REQUIRED = ['oauth_consumer_key', 'oauth_token', 'oauth_signature_method', 'oauth_signature'];

const bad = (kind: OAuthHeaderError['kind'], detail: string): Result<never, OAuthHeaderError> =>
  err({ kind, detail });

function percentDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/** RFC 5849 §3.6: unreserved characters stay, everything else is %XX of its UTF-8 bytes. */
function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Splits `k="v", k2=v2` into pairs, honouring quotes. Undefined when it does not parse. */
function splitParams(text: string): [string, string][] | undefined {
  const pairs: [string, string][] = [];
  let i = 0;
  const n = text.length;
  const skipSpace = (): void => {
    while (i < n && /\s/.test(text.charAt(i))) i++;
  };
  while (i < n) {
    skipSpace();
    if (i >= n) break;
    const eq = text.indexOf('=', i);
    if (eq < 0) return undefined;
    const key = text.slice(i, eq).trim();
    if (!/^[A-Za-z0-9_.-]+$/.test(key)) return undefined;
    i = eq + 1;
    skipSpace();
    let value: string;
    if (text.charAt(i) === '"') {
      const close = text.indexOf('"', i + 1);
      if (close < 0) return undefined;
      value = text.slice(i + 1, close);
      i = close + 1;
    } else {
      let end = text.indexOf(',', i);
      if (end < 0) end = n;
      value = text.slice(i, end).trim();
      i = end;
    }
    pairs.push([key, value]);
    skipSpace();
    if (i < n) {
      if (text.charAt(i) !== ',') return undefined;
      i++;
    }
  }
  return pairs;
}

/** Decodes an `Authorization` header value. */
export function decodeOAuthHeader(
  header: string | undefined,
): Result<OAuthCredentials, OAuthHeaderError> {
  if (header === undefined || header.trim() === '')
    return bad('missing', 'send the machine token as an OAuth PLAINTEXT Authorization header');
  const m = /^\s*OAuth(?:\s+(.*))?$/is.exec(header);
  if (m === null) return bad('unsupported', 'the Authorization scheme must be OAuth');
  const pairs = splitParams(m[1] ?? '');
  if (pairs === undefined) return bad('malformed', 'the OAuth parameters do not parse');
  const params = new Map<string, string>();
  for (const [key, raw] of pairs) {
    const value = percentDecode(raw);
    if (value === undefined) return bad('malformed', `${key} is not percent-encoded properly`);
    if (params.has(key)) return bad('malformed', `${key} is given twice`);
    params.set(key, value);
  }
  const missing = REQUIRED.filter((k) => !params.has(k));
  if (missing.length > 0) return bad('missing', `missing ${missing.join(', ')}`);
  const method = params.get('oauth_signature_method');
  if (method !== 'PLAINTEXT')
    return bad('unsupported', `signature method ${method ?? ''} is not supported: use PLAINTEXT`);
  const version = params.get('oauth_version');
  if (version !== undefined && version !== '1.0')
    return bad('unsupported', `OAuth version ${version} is not supported`);
  const signature = params.get('oauth_signature') ?? '';
  const amp = signature.indexOf('&');
  if (amp < 0) return bad('malformed', 'a PLAINTEXT signature is <consumer secret>&<token secret>');
  const consumerSecret = percentDecode(signature.slice(0, amp));
  const tokenSecret = percentDecode(signature.slice(amp + 1));
  if (consumerSecret === undefined || tokenSecret === undefined)
    return bad('malformed', 'the signature is not percent-encoded properly');
  return ok({
    consumerKey: params.get('oauth_consumer_key') ?? '',
    token: params.get('oauth_token') ?? '',
    consumerSecret,
    tokenSecret,
    nonce: params.get('oauth_nonce'),
    timestamp: params.get('oauth_timestamp'),
  });
}

/** Encodes credentials as a PLAINTEXT-signed header value (what oauthlib sends). */
export function encodeOAuthHeader(c: OAuthCredentials): string {
  const params: [string, string][] = [
    ['oauth_nonce', c.nonce ?? ''],
    ['oauth_timestamp', c.timestamp ?? ''],
    ['oauth_version', '1.0'],
    ['oauth_signature_method', 'PLAINTEXT'],
    ['oauth_consumer_key', c.consumerKey],
    ['oauth_token', c.token],
    ['oauth_signature', `${percentEncode(c.consumerSecret)}&${percentEncode(c.tokenSecret)}`],
  ];
  return `OAuth ${params
    .filter(([k, v]) => v !== '' || (k !== 'oauth_nonce' && k !== 'oauth_timestamp'))
    .map(([k, v]) => `${k}="${percentEncode(v)}"`)
    .join(', ')}`;
}
