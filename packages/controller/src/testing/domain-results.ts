/** Unwrapping `Result`s in tests, with the other side printed when the expectation is wrong. */
import type { Result } from '@ingot/common';
import type { DomainError } from '../domain/errors.ts';

/** The error of a failed result; throws, showing the value, if it succeeded. */
export function errorOf<T>(result: Result<T, DomainError>): DomainError {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.value)}`);
  return result.error;
}

/** The value of a successful result; throws, showing the error, if it failed. */
export function valueOf<T>(result: Result<T, DomainError>): T {
  if (!result.ok) throw new Error(`expected success, got ${JSON.stringify(result.error)}`);
  return result.value;
}
