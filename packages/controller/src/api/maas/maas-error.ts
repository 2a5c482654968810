/**
 * Errors as MAAS clients expect them: MAAS's status codes with a plain-text message (gomaasapi
 * keeps the body as the error's message). The one mapping from `DomainError` for this edge.
 */
import { assertNever } from '@ingot/common';
import type { DomainError } from '../../domain/errors.ts';

/** A refusal the MAAS adapter answers with: status, message, and extra headers. */
export class MaasError extends Error {
  readonly status: 400 | 401 | 403 | 404 | 409 | 429 | 503;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: MaasError['status'],
    message: string,
    headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'MaasError';
    this.status = status;
    this.headers = headers;
  }
}

/**
 * MAAS's codes: 400 bad parameters, 403 not allowed, 404 unknown, 409 no match or wrong state,
 * 503 busy (with `Retry-After`, which gomaasapi honours by retrying).
 */
export function maasErrorFor(error: DomainError): MaasError {
  switch (error.kind) {
    case 'not-found':
      return new MaasError(404, `No ${error.entity} matches the given query (${error.id}).`);
    case 'invalid':
      return new MaasError(
        400,
        error.field === undefined ? error.detail : `${error.field}: ${error.detail}`,
      );
    case 'conflict':
      return new MaasError(409, error.detail);
    case 'invalid-transition':
      return new MaasError(
        409,
        `Cannot ${error.action.replace(/_/g, ' ')} machine ${error.machineId} because it is ` +
          `${error.status.replace(/_/g, ' ')}.`,
      );
    case 'locked':
      return new MaasError(409, `Machine ${error.machineId} is locked; unlock it first.`);
    case 'no-match':
      return new MaasError(409, `No machine available matching the constraints: ${error.detail}`);
    case 'forbidden':
      return new MaasError(403, error.detail);
    case 'unauthenticated':
      return new MaasError(401, error.detail);
    case 'no-rack':
      return new MaasError(503, `Unable to reach the machine: ${error.detail}`);
    case 'stale':
      return new MaasError(503, `Machine ${error.machineId} changed meanwhile; try again.`, {
        'retry-after': '1',
      });
    default:
      return assertNever(error, 'domain error');
  }
}

/** The value of a successful result; a failure becomes the MAAS error to answer with. */
export function must<T>(result: { ok: true; value: T } | { ok: false; error: DomainError }): T {
  if (result.ok) return result.value;
  throw maasErrorFor(result.error);
}
