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

/**
 * The event id a machine's report with client id `reportId` is stored under: a UUID (version 8,
 * RFC 9562 §5.8) made of SHA-256 over a fixed label, the machine id and the report id. The same
 * pair always gives the same id, so a resent report hits the events table's unique id; another
 * machine's report with the same client id gets another id, so no machine can suppress another's
 * reports (or a rack's events, whose ids the agent draws at random).
 */
export function reportEventId(machineId: string, reportId: string): string {
  const hash = createHash('sha256')
    .update(`ingot-metadata-report\0${machineId}\0${reportId}`)
    .digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x80; // version 8
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80; // variant 10
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
