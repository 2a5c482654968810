/**
 * MAAS API authentication: OAuth 1.0 PLAINTEXT in `Authorization: OAuth …` (RFC 5849 §3.5.1,
 * §3.4.4), parsed by the metadata service's codec, with the credentials of an Ingot API key in
 * MAAS form (`maas-key.ts`), checked by the same `UserService.authenticate` as `/api/v1`.
 */
import { decodeOAuthHeader } from '../oauth-header.ts';
import type { UserService } from '../../app/user-service.ts';
import type { AuthLimiter } from '../../app/auth-limiter.ts';
import { authenticateApiKey } from '../../app/auth-limiter-credentials.ts';
import type { User } from '../../domain/user.ts';
import { MaasError } from './maas-error.ts';
import { ingotKeyOf } from './maas-key.ts';

/** What a 401 carries: MAAS's challenge. */
export const OAUTH_CHALLENGE = { 'www-authenticate': 'OAuth realm="OAuth"' } as const;

function refuse(detail: string): MaasError {
  return new MaasError(401, `Authorization Error: ${detail}`, OAUTH_CHALLENGE);
}

/**
 * The user whose key signed the request. Throws {@link MaasError} 401 for a missing, malformed or
 * wrongly signed header, and for unknown or revoked keys; 429 with `Retry-After` when this address
 * or key id failed too often (`app/auth-limiter.ts`).
 */
export async function authenticateMaas(
  deps: { readonly users: UserService; readonly authLimiter: AuthLimiter },
  header: string | undefined,
  source: string,
): Promise<{ readonly user: User; readonly keyId: string }> {
  const decoded = decodeOAuthHeader(header);
  if (!decoded.ok) {
    throw refuse(
      decoded.error.kind === 'missing' && (header ?? '').trim() === ''
        ? 'send an OAuth 1.0 PLAINTEXT Authorization header signed with your MAAS API key ' +
            '(ingot users api-key --maas prints one)'
        : decoded.error.detail,
    );
  }
  // A key not in Ingot's form is a failure like a wrong one: it counts too.
  const result = await authenticateApiKey(deps, ingotKeyOf(decoded.value) ?? '', source);
  if (!result.ok && result.error.kind === 'rate-limited') {
    const wait = String(result.error.retryAfterSeconds);
    const detail = `too many failed attempts; try again in ${wait} s`;
    throw new MaasError(429, detail, { 'retry-after': wait });
  }
  if (!result.ok) throw refuse('Invalid access token or signature.');
  return { user: result.value, keyId: decoded.value.token };
}
