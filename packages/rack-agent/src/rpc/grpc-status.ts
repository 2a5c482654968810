import { status as Status } from '@grpc/grpc-js';
import { assertNever } from '@ingot/common';

/**
 * What a gRPC failure means to the agent. This is the one mapping from gRPC status codes
 * (STYLE.md §4.5); enrollment and the session loop decide what to do per category.
 */
export type GrpcFailureKind =
  /** Credentials or token refused (UNAUTHENTICATED, PERMISSION_DENIED). */
  | 'auth'
  /** The controller understood and said no (bad argument, not found, precondition …). */
  | 'rejected'
  /** The controller does not implement the call: incompatible versions. */
  | 'unimplemented'
  /** Network, overload, restart: trying again later may work. */
  | 'transient';

/** Classifies a gRPC status code; exhaustive over grpc-js `Status`. */
export function classifyGrpcStatus(code: Status): GrpcFailureKind {
  switch (code) {
    case Status.UNAUTHENTICATED:
    case Status.PERMISSION_DENIED:
      return 'auth';
    case Status.INVALID_ARGUMENT:
    case Status.NOT_FOUND:
    case Status.ALREADY_EXISTS:
    case Status.FAILED_PRECONDITION:
    case Status.OUT_OF_RANGE:
      return 'rejected';
    case Status.UNIMPLEMENTED:
      return 'unimplemented';
    case Status.OK:
    case Status.CANCELLED:
    case Status.UNKNOWN:
    case Status.DEADLINE_EXCEEDED:
    case Status.RESOURCE_EXHAUSTED:
    case Status.ABORTED:
    case Status.INTERNAL:
    case Status.UNAVAILABLE:
    case Status.DATA_LOSS:
      return 'transient';
    default:
      return assertNever(code, 'gRPC status');
  }
}

/** A gRPC failure as seen from `unknown`: its category, code and the server's details text. */
export interface GrpcFailure {
  readonly kind: GrpcFailureKind;
  readonly code: Status;
  /** Status name, e.g. `UNAUTHENTICATED`, for logs. */
  readonly codeName: string;
  readonly details: string;
}

/** Narrows a thrown or emitted error to a {@link GrpcFailure}; non-gRPC errors map to UNKNOWN. */
export function toGrpcFailure(error: unknown): GrpcFailure {
  const codeValue: unknown =
    typeof error === 'object' && error !== null ? Reflect.get(error, 'code') : undefined;
  const detailsValue: unknown =
    typeof error === 'object' && error !== null ? Reflect.get(error, 'details') : undefined;
  const code = isStatus(codeValue) ? codeValue : Status.UNKNOWN;
  const details =
    typeof detailsValue === 'string' && detailsValue !== ''
      ? detailsValue
      : error instanceof Error
        ? error.message
        : String(error);
  return { kind: classifyGrpcStatus(code), code, codeName: Status[code], details };
}

function isStatus(value: unknown): value is Status {
  return typeof value === 'number' && Status[value] !== undefined;
}
