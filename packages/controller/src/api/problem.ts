/**
 * RFC 9457 problem documents: the one mapping from `DomainError` to HTTP (STYLE.md §4.5).
 */
import { assertNever } from '@ingot/common';
import type { DomainError } from '../domain/errors.ts';

/** The JSON body of every error response. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly [extension: string]: unknown;
}

const TYPE_BASE = 'https://ingot.dev/problems/';

/** Builds a problem document. */
export function problem(
  status: number,
  slug: string,
  title: string,
  detail: string,
  extra: Record<string, unknown> = {},
): Problem {
  return { type: TYPE_BASE + slug, title, status, detail, ...extra };
}

/** Maps an expected failure to its HTTP problem. Exhaustive: a new error kind fails to compile. */
export function problemFor(error: DomainError): Problem {
  switch (error.kind) {
    case 'not-found':
      return problem(404, 'not-found', 'Not found', `no ${error.entity} ${error.id}`);
    case 'invalid':
      return problem(
        400,
        'invalid',
        'Invalid request',
        error.detail,
        error.field === undefined ? {} : { field: error.field },
      );
    case 'conflict':
      return problem(409, 'conflict', 'Conflict', error.detail);
    case 'invalid-transition':
      return problem(
        409,
        'invalid-transition',
        'Action not allowed in this status',
        `machine ${error.machineId} is ${error.status}: ${error.action.replace(/_/g, '-')} is not allowed` +
          (error.allowed.length > 0 ? ` (allowed: ${error.allowed.join(', ')})` : ''),
        { status_name: error.status, action: error.action, allowed: error.allowed },
      );
    case 'locked':
      return problem(
        409,
        'locked',
        'Machine is locked',
        `machine ${error.machineId} is locked; unlock it first`,
      );
    case 'no-match':
      return problem(409, 'no-match', 'No machine matches', error.detail);
    case 'forbidden':
      return problem(403, 'forbidden', 'Forbidden', error.detail);
    case 'unauthenticated':
      return problem(401, 'unauthenticated', 'Unauthenticated', error.detail);
    case 'no-rack':
      return problem(409, 'no-rack', 'No rack serves this machine', error.detail);
    case 'stale':
      return problem(
        409,
        'stale',
        'Conflict',
        `machine ${error.machineId} changed meanwhile; try again`,
      );
    default:
      return assertNever(error, 'domain error');
  }
}

/** Carries a `DomainError` from a route handler to the error handler, which renders it. */
export class DomainFailure extends Error {
  readonly error: DomainError;

  constructor(error: DomainError) {
    super(error.kind);
    this.name = 'DomainFailure';
    this.error = error;
  }
}

/** Returns the value of a successful result, or hands the failure to the error handler. */
export function unwrap<T>(result: { ok: true; value: T } | { ok: false; error: DomainError }): T {
  if (result.ok) return result.value;
  throw new DomainFailure(result.error);
}
