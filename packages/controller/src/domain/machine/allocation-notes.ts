/**
 * What an allocation carries besides its owner (MAAS's `agent_name` and `owner_data`): the name
 * of the agent that allocated the machine (Juju filters its machines by it) and the owner's
 * key/value notes. Both belong to the allocation: releasing the machine forgets them.
 */
import { err, ok, type Result } from '@ingot/common';
import type { DomainError } from '../errors.ts';

/** An allocation's notes. */
export interface AllocationNotes {
  readonly agentName: string | null;
  readonly ownerData: Readonly<Record<string, string>>;
}

/** A machine with no notes. */
export const NO_NOTES: AllocationNotes = { agentName: null, ownerData: {} };

const MAX_KEYS = 100;
const MAX_KEY_LENGTH = 255;
const MAX_VALUE_LENGTH = 4096;

/**
 * Owner data after `patch`: a key set to `null` or `''` is removed (MAAS's rule), others are set.
 * `invalid` for an empty or overlong key or value, or more than 100 keys.
 */
export function patchOwnerData(
  current: Readonly<Record<string, string>>,
  patch: Readonly<Record<string, string | null>>,
): Result<Record<string, string>, DomainError> {
  const next = new Map(Object.entries(current));
  for (const [key, value] of Object.entries(patch)) {
    if (key === '' || key.length > MAX_KEY_LENGTH) {
      return err({
        kind: 'invalid',
        field: 'owner_data',
        detail: `keys are 1–${MAX_KEY_LENGTH} characters`,
      });
    }
    if (value === null || value === '') {
      next.delete(key);
      continue;
    }
    if (value.length > MAX_VALUE_LENGTH) {
      return err({
        kind: 'invalid',
        field: 'owner_data',
        detail: `${key}: values are at most ${MAX_VALUE_LENGTH} characters`,
      });
    }
    next.set(key, value);
  }
  if (next.size > MAX_KEYS) {
    return err({ kind: 'invalid', field: 'owner_data', detail: `at most ${MAX_KEYS} keys` });
  }
  return ok(Object.fromEntries(next));
}
