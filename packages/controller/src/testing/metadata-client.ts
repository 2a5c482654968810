/**
 * Test helpers for the metadata service: the token a rack was sent in a machine's boot plan, and
 * requests signed with it the way cloud-init's oauthlib signs them.
 */
import type { ApiApp } from '../api/context.ts';
import { encodeOAuthHeader } from '../api/oauth-header.ts';
import type { Store } from '../app/ports.ts';
import { openQueuedToken } from '../app/metadata-token.ts';
import type { SecretBox } from '../app/secret-box.ts';

/**
 * The metadata token in the newest boot plan queued for `machineId` on `rackId` (what the rack
 * puts on the machine's kernel command line), opened with the fixture's key. Throws when there
 * is none.
 */
export async function issuedToken(
  f: { readonly store: Store; readonly secrets: SecretBox },
  rackId: string,
  machineId: string,
): Promise<string> {
  const plans = (await f.store.pendingRackCommands(rackId)).filter(
    (c) => c.body.kind === 'boot-plan' && c.machineId === machineId,
  );
  const body = plans.at(-1)?.body;
  const token = body?.kind === 'boot-plan' ? body.metadataToken : undefined;
  if (token === undefined) throw new Error(`no boot plan with a token for ${machineId}`);
  return openQueuedToken(f.secrets, token);
}

/** The OAuth PLAINTEXT `Authorization` value for a `consumer:token:secret` token. */
export function oauthHeader(
  token: string,
  tamper?: { secret?: string; consumer?: string },
): string {
  const [consumerKey = '', tokenKey = '', secret = ''] = token.split(':');
  return encodeOAuthHeader({
    consumerKey: tamper?.consumer ?? consumerKey,
    token: tokenKey,
    consumerSecret: '',
    tokenSecret: tamper?.secret ?? secret,
    nonce: '17645000001234',
    timestamp: '1764500000',
  });
}

/** Sends a metadata request signed with `token` (none when `token` is undefined). */
export async function metadataRequest(
  api: ApiApp,
  path: string,
  token: string | undefined,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...init.headers };
  if (token !== undefined) headers.authorization = oauthHeader(token);
  return api.request(`/MAAS/metadata/${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers,
    // Like cloud-init's webhook: a JSON string body without a content type.
    body: init.body === undefined ? null : JSON.stringify(init.body),
  });
}
