/**
 * The controller's secrets key, `DATA/secrets.key`: 32 random bytes, mode 0600, created on
 * first start. Losing it makes every stored BMC password unreadable, so it is never replaced:
 * a file of the wrong size stops the controller instead.
 */
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { generateSecretKey, SECRET_KEY_BYTES } from './app/secret-box.ts';

/** Reads the key file, creating it when absent. `created` says whether this call wrote it. */
export function loadOrCreateSecretKey(path: string): { key: Buffer; created: boolean } {
  let created = false;
  try {
    // `wx`: never overwrite a key another start wrote in between.
    writeFileSync(path, generateSecretKey(), { mode: 0o600, flag: 'wx' });
    created = true;
  } catch (error: unknown) {
    if (!(error instanceof Error && 'code' in error && error.code === 'EEXIST')) throw error;
  }
  // The umask may have widened or narrowed the mode; group and others must not read it.
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  const key = readFileSync(path);
  if (key.length !== SECRET_KEY_BYTES) {
    throw new Error(
      `${path} has ${key.length} bytes, not ${SECRET_KEY_BYTES}: restore the original key file (without it stored BMC passwords cannot be read)`,
    );
  }
  return { key, created };
}
