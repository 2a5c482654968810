/**
 * Identifiers and secrets. Machine ids are short and readable like MAAS system ids; event and
 * command ids are UUIDs; secrets are 256-bit random, stored only as SHA-256 hashes (they are
 * high-entropy, so a slow hash adds nothing).
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';

const ALPHABET = 'abcdefghjkmnpqrstwxy3456789';

/** A short random id such as `k3x8pq` (27^6 ≈ 387M values; callers retry on collision). */
export function shortId(length = 6): string {
  const bytes = randomBytes(length);
  let id = '';
  for (const byte of bytes) id += ALPHABET.charAt(byte % ALPHABET.length);
  return id;
}

/** A random UUID. */
export function uuid(): string {
  return randomUUID();
}

/** A random secret, URL-safe. */
export function newSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** The stored form of a secret. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Compares a secret with a stored hash in constant time. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
