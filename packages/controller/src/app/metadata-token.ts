/**
 * Making metadata tokens: three random parts of 24 letters and digits (MAAS's form, which
 * cloud-init's MAAS datasource and MAAS tooling accept), of which only the secret's hash is kept.
 */
import { randomBytes } from 'node:crypto';
import {
  formatMetadataToken,
  type MetadataTokenParts,
  type MetadataTokenRecord,
} from '../domain/metadata/token.ts';
import { hashSecret } from './ids.ts';
import type { SecretBox } from './secret-box.ts';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** 24 uniform random characters of {@link ALPHABET} (rejection sampling: no modulo bias). */
function part(): string {
  let out = '';
  while (out.length < 24) {
    for (const byte of randomBytes(32)) {
      // 62 * 4 = 248: bytes 248–255 would favour the first eight characters.
      if (byte < 248 && out.length < 24) out += ALPHABET.charAt(byte % 62);
    }
  }
  return out;
}

/** A fresh token for `machineId`: the clear form to hand out once, and the record to store. */
export function newMetadataToken(
  machineId: string,
  nowMs: number,
): { token: string; record: MetadataTokenRecord } {
  const parts: MetadataTokenParts = { consumerKey: part(), tokenKey: part(), secret: part() };
  return {
    token: formatMetadataToken(parts),
    record: {
      machineId,
      consumerKey: parts.consumerKey,
      tokenKey: parts.tokenKey,
      secretHash: hashSecret(parts.secret),
      issuedAtMs: nowMs,
    },
  };
}

/**
 * A metadata token as it waits in a queued boot plan: sealed with the controller's key, like BMC
 * passwords there, so the database never holds it in clear.
 */
export function sealQueuedToken(box: SecretBox, token: string): string {
  return box.seal(token);
}

/**
 * The clear token of a queued boot plan, for the one place that sends it to the rack. Plans
 * queued before tokens were sealed hold the token itself, which comes back as it is.
 */
export function openQueuedToken(box: SecretBox, queued: string): string {
  return /^v1:[^:]*:[^:]*:[^:]*$/.test(queued) ? box.open(queued) : queued;
}
