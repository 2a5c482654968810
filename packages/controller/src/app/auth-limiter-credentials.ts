/**
 * Each random-secret credential checked through {@link AuthLimiter.guard}: what identity it
 * claims (never the secret) and which service checks it. The edges (HTTP, `/ws`, gRPC) call these
 * instead of the services' `authenticate` directly, so every failure is counted the same way.
 */
import type { Result } from '@ingot/common';
import type { DomainError } from '../domain/errors.ts';
import type { Rack } from '../domain/rack.ts';
import type { User } from '../domain/user.ts';
import type { AuthLimiter, RateLimited } from './auth-limiter.ts';
import type { MetadataCaller, MetadataService, TokenCredentials } from './metadata-service.ts';
import type { RackService } from './rack-service.ts';
import type { UserService } from './user-service.ts';

/** The key id of an `ingot_<id>_<secret>` key (public: it names the key), if it has that form. */
export function apiKeyId(apiKey: string): string | undefined {
  return /^ingot_([a-z0-9]{12})_/.exec(apiKey)?.[1];
}

/** An API key (Bearer, `/ws`, MAAS OAuth in Ingot form) from `source`, counted as `api-key`. */
export function authenticateApiKey(
  deps: { readonly users: UserService; readonly authLimiter: AuthLimiter },
  apiKey: string,
  source: string,
): Promise<Result<User, DomainError | RateLimited>> {
  const attempt = { credential: 'api-key', source, identity: apiKeyId(apiKey) } as const;
  return deps.authLimiter.guard(attempt, () => deps.users.authenticate(apiKey));
}

/** A rack's id and secret (Session, image-file reads), counted as `rack-secret` per rack id. */
export function authenticateRackSecret(
  deps: { readonly racks: RackService; readonly authLimiter: AuthLimiter },
  rackId: string,
  secret: string,
  source: string,
): Promise<Result<Rack, DomainError | RateLimited>> {
  const attempt = { credential: 'rack-secret', source, identity: rackId } as const;
  return deps.authLimiter.guard(attempt, () => deps.racks.authenticate(rackId, secret));
}

/** A machine's metadata token, counted as `metadata-token` per token key. */
export function authenticateMetadataToken(
  deps: { readonly metadata: MetadataService; readonly authLimiter: AuthLimiter },
  credentials: TokenCredentials,
  source: string,
): Promise<Result<MetadataCaller, DomainError | RateLimited>> {
  const attempt = { credential: 'metadata-token', source, identity: credentials.tokenKey } as const;
  return deps.authLimiter.guard(attempt, () => deps.metadata.authenticate(credentials));
}

/**
 * A rack's `Register` with a one-time enrollment token, counted as `enrollment-token` per
 * claimed hostname (the token itself names nothing).
 */
export function registerRack(
  deps: { readonly racks: RackService; readonly authLimiter: AuthLimiter },
  input: Parameters<RackService['register']>[0],
  source: string,
): ReturnType<RackService['register']> extends Promise<Result<infer T, infer E>>
  ? Promise<Result<T, E | RateLimited>>
  : never {
  const identity = input.hostname.length > 0 ? input.hostname : undefined;
  const attempt = { credential: 'enrollment-token', source, identity } as const;
  return deps.authLimiter.guard(attempt, () => deps.racks.register(input));
}
