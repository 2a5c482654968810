/**
 * Secrets at rest (DESIGN.md §7: BMC passwords are encrypted at rest). A {@link SecretBox}
 * seals text with AES-256-GCM under the controller's key (`DATA/secrets.key`); the sealed form
 * is a versioned envelope `v1:<iv>:<tag>:<ciphertext>`, each part base64. Power parameters are
 * stored, and queued in rack commands, only sealed (`{ sealed: 'v1:…' }`); they are opened in
 * exactly one place, `rpc/convert.ts`, as a command goes to its rack.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** Length of the key in bytes (AES-256). */
export const SECRET_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const VERSION = 'v1';

/** Seals and opens text with one key. */
export interface SecretBox {
  /** Encrypts `plain` under a fresh IV. */
  seal(plain: string): string;
  /** Decrypts what {@link SecretBox.seal} made. Throws when the envelope is bad or the key wrong. */
  open(sealed: string): string;
}

/** Builds a box over a 32-byte key. A key of any other length is a programming error. */
export function createSecretBox(key: Uint8Array): SecretBox {
  if (key.length !== SECRET_KEY_BYTES) {
    throw new Error(`a secret key has ${SECRET_KEY_BYTES} bytes, not ${key.length}`);
  }
  const k = Buffer.from(key);
  return {
    seal(plain) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', k, iv);
      const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return [VERSION, iv, tag, ciphertext]
        .map((p) => (typeof p === 'string' ? p : b64(p)))
        .join(':');
    },
    open(sealed) {
      const parts = sealed.split(':');
      const [version, iv, tag, ciphertext] = parts;
      if (parts.length !== 4 || version !== VERSION || iv === undefined || tag === undefined) {
        throw new Error('not a sealed secret (expected v1:<iv>:<tag>:<ciphertext>)');
      }
      const ivBytes = Buffer.from(iv, 'base64');
      const tagBytes = Buffer.from(tag, 'base64');
      if (ivBytes.length !== IV_BYTES || tagBytes.length !== TAG_BYTES) {
        throw new Error('sealed secret has a bad IV or tag');
      }
      const decipher = createDecipheriv('aes-256-gcm', k, ivBytes);
      decipher.setAuthTag(tagBytes);
      // A wrong key or a changed byte fails authentication here ("unable to authenticate data").
      const plain = Buffer.concat([
        decipher.update(Buffer.from(ciphertext ?? '', 'base64')),
        decipher.final(),
      ]);
      return plain.toString('utf8');
    },
  };
}

/** A fresh random key, for a new `secrets.key` and for tests. */
export function generateSecretKey(): Buffer {
  return randomBytes(SECRET_KEY_BYTES);
}

/** Power parameters as stored: one sealed JSON object (a type alias, so it is a record). */
export type SealedParams = { readonly sealed: string };

/** Whether stored power parameters are sealed (rows written before encryption are not). */
export function isSealedParams(params: Readonly<Record<string, unknown>>): boolean {
  const keys = Object.keys(params);
  return (
    keys.length === 1 &&
    keys[0] === 'sealed' &&
    typeof params.sealed === 'string' &&
    params.sealed.startsWith(`${VERSION}:`)
  );
}

/** Seals a machine's power parameters for the store and for queued rack commands. */
export function sealPowerParams(
  box: SecretBox,
  params: Readonly<Record<string, unknown>>,
): SealedParams {
  return { sealed: box.seal(JSON.stringify(params)) };
}

/**
 * The plaintext power parameters, for the one place that sends them to a rack. Parameters that
 * were never sealed (stored before encryption) come back as they are.
 */
export function openPowerParams(
  box: SecretBox,
  params: Readonly<Record<string, unknown>>,
): Readonly<Record<string, unknown>> {
  if (!isSealedParams(params)) return params;
  const value: unknown = JSON.parse(box.open(params.sealed as string));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error('sealed power parameters are not a JSON object');
  }
  return value as Record<string, unknown>;
}

function b64(bytes: Buffer): string {
  return bytes.toString('base64');
}
