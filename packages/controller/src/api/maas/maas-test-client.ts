/**
 * How the MAAS contract tests call the API in process: OAuth PLAINTEXT headers signed the way
 * gomaasapi signs them (`url.QueryEscape`d values, `realm=""`, `oauth_signature="%26<secret>"`),
 * and form bodies urlencoded or multipart with repeated keys. Test support only.
 */
import type { ApiApp } from '../context.ts';
import { maasKeyOf } from './maas-key.ts';

/** The OAuth parameters of a MAAS key, in gomaasapi's form, unencoded. */
export function oauthParams(maasKey: string): [string, string][] {
  const [consumer = '', token = '', secret = ''] = maasKey.split(':');
  return [
    ['realm', ''],
    ['oauth_consumer_key', consumer],
    ['oauth_token', token],
    ['oauth_signature_method', 'PLAINTEXT'],
    ['oauth_signature', `&${secret}`],
    ['oauth_timestamp', '1790000000'],
    ['oauth_nonce', 'f00dfeedf00dfeed'],
    ['oauth_version', '1.0'],
  ];
}

/** Go's `url.QueryEscape`: space as `+`, everything but unreserved characters as %XX. */
export function queryEscape(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** `Authorization: OAuth …` from parameters, in the order given. */
export function oauthHeader(params: readonly (readonly [string, string])[]): string {
  return `OAuth ${params.map(([k, v]) => `${k}="${queryEscape(v)}"`).join(', ')}`;
}

/** One request's options. */
export interface MaasCall {
  /** An Ingot API key (converted to MAAS form), or a ready `Authorization` value, or none. */
  readonly key?: string | undefined;
  readonly authorization?: string | undefined;
  /** Form fields, repeated keys allowed. */
  readonly form?: readonly (readonly [string, string])[] | undefined;
  readonly multipart?: boolean | undefined;
}

/** Sends one request to the app in process. */
export async function maasRequest(
  api: ApiApp,
  method: 'GET' | 'POST',
  path: string,
  call: MaasCall = {},
): Promise<Response> {
  const headers: Record<string, string> = {};
  if (call.authorization !== undefined) headers.authorization = call.authorization;
  else if (call.key !== undefined) {
    const maasKey = maasKeyOf(call.key);
    if (maasKey === undefined) throw new Error('not an Ingot API key');
    headers.authorization = oauthHeader(oauthParams(maasKey));
  }
  let body: FormData | string | undefined;
  if (call.form !== undefined) {
    if (call.multipart === true) {
      const data = new FormData();
      for (const [k, v] of call.form) data.append(k, v);
      body = data;
    } else {
      body = new URLSearchParams(call.form.map(([k, v]): [string, string] => [k, v])).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
  }
  return api.request(`/MAAS/api/2.0/${path}`, { method, headers, body });
}
