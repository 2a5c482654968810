/**
 * MAAS API authentication: OAuth 1.0 PLAINTEXT in `Authorization: OAuth …` (RFC 5849 §3.5.1,
 * §3.4.4), parsed by the metadata service's codec, with the credentials of an Ingot API key in
 * MAAS form (`maas-key.ts`), checked by the same `UserService.authenticate` as `/api/v1`.
 */
import { decodeOAuthHeader } from '../oauth-header.ts';
import type { UserService } from '../../app/user-service.ts';
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
 * wrongly signed header, and for unknown or revoked keys.
 */
export async function authenticateMaas(
  users: UserService,
  header: string | undefined,
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
  const key = ingotKeyOf(decoded.value);
  if (key === undefined) throw refuse('Invalid access token or signature.');
  const result = await users.authenticate(key);
  if (!result.ok) throw refuse('Invalid access token or signature.');
  return { user: result.value, keyId: decoded.value.token };
}
