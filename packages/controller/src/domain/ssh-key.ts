/**
 * Users' SSH public keys, in the OpenSSH one-line form (`ssh-keygen`'s `*.pub`, RFC 4716 §3.4's
 * "OpenSSH public key format"): `<type> <base64 blob> [comment]`.
 *
 * The blob is the key in SSH wire encoding (RFC 4253 §6.6): a sequence of `string`s
 * (uint32 big-endian length, then bytes) and `mpint`s (RFC 4251 §5), starting with the key type:
 *
 * ```
 * ssh-ed25519                          string type | string pk (32)              (RFC 8709 §4)
 * ssh-rsa                              string type | mpint e | mpint n           (RFC 4253 §6.6)
 * ecdsa-sha2-nistp256/384/521          string type | string curve | string Q     (RFC 5656 §3.1)
 * sk-ssh-ed25519@openssh.com           string type | string pk (32) | string application
 * sk-ecdsa-sha2-nistp256@openssh.com   string type | string curve | string Q | string application
 * ```
 *
 * (the `sk-` forms are OpenSSH's PROTOCOL.u2f). Decoding is pure: the fingerprint digest is the
 * caller's (no `node:crypto` here), {@link formatFingerprint} only writes it the OpenSSH way.
 */
import { err, ok, type Result } from '@ingot/common';

/** Key types Ingot accepts (what current OpenSSH generates; DSA is gone since OpenSSH 9.8). */
export const SSH_KEY_TYPES = [
  'ssh-ed25519',
  'ssh-rsa',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
] as const;
/** One of {@link SSH_KEY_TYPES}. */
export type SshKeyType = (typeof SSH_KEY_TYPES)[number];

/** A decoded public key line. */
export interface SshPublicKey {
  readonly type: SshKeyType;
  /** The decoded blob: what the fingerprint hashes. */
  readonly blob: Uint8Array;
  /** The blob as given (canonical base64). */
  readonly base64: string;
  /** Everything after the blob, trimmed; empty when none. */
  readonly comment: string;
}

/** An SSH key as stored for a user. */
export interface SshKey {
  readonly id: string;
  readonly userId: string;
  /** The normalised line: `<type> <base64>[ <comment>]`. */
  readonly key: string;
  /** `SHA256:<unpadded base64>`, as `ssh-keygen -l` prints it. */
  readonly fingerprint: string;
  readonly comment: string;
  readonly createdAtMs: number;
}

/** Why a line is not a public key. */
export interface SshKeyError {
  readonly kind: 'invalid-ssh-key';
  readonly detail: string;
}

/** Longest accepted line: an RSA 16384-bit key is ~2.8 KiB of base64. */
export const MAX_SSH_KEY_LENGTH = 16_384;

const EC_POINT_BYTES: Readonly<Record<string, number>> = {
  nistp256: 65,
  nistp384: 97,
  nistp521: 133,
};

function isKeyType(value: string): value is SshKeyType {
  return (SSH_KEY_TYPES as readonly string[]).includes(value);
}

const fail = (detail: string): Result<never, SshKeyError> =>
  err({ kind: 'invalid-ssh-key', detail });

/**
 * Decodes one OpenSSH public key line. Checks that the base64 decodes, that the blob's embedded
 * type matches the line's, and that the blob holds exactly the fields its type has. Never throws.
 */
export function decodeSshPublicKey(line: string): Result<SshPublicKey, SshKeyError> {
  const text = line.trim();
  if (text.length === 0) return fail('empty: paste the contents of a .pub file');
  if (text.length > MAX_SSH_KEY_LENGTH) return fail(`longer than ${MAX_SSH_KEY_LENGTH} bytes`);
  if (/[\r\n]/.test(text)) return fail('one key per line');
  if (text.startsWith('---- BEGIN SSH2 PUBLIC KEY'))
    return fail('RFC 4716 (SECSH) format: convert it with ssh-keygen -i -f FILE');
  const [, type = '', base64 = '', comment = ''] =
    /^(\S+)(?:[ \t]+(\S+))?(?:[ \t]+(.*))?$/.exec(text) ?? [];
  if (type.startsWith('-----BEGIN') || type.includes('PRIVATE'))
    return fail('this looks like a private key: give the .pub file');
  if (!isKeyType(type)) {
    return fail(
      type.includes('=') || type.includes('"')
        ? 'authorized_keys options are not accepted: give the bare key'
        : `unsupported key type ${JSON.stringify(type.slice(0, 40))} (accepted: ${SSH_KEY_TYPES.join(', ')})`,
    );
  }
  const blob = decodeBase64(base64);
  if (blob === undefined) return fail('the key data is not valid base64');
  const checked = checkBlob(type, blob);
  if (checked !== undefined) return fail(checked);
  return ok({ type, blob, base64, comment: comment.trim() });
}

/** The line as stored and handed out: type, blob and comment with single spaces. */
export function encodeSshPublicKey(key: Pick<SshPublicKey, 'type' | 'base64' | 'comment'>): string {
  return key.comment.length > 0
    ? `${key.type} ${key.base64} ${key.comment}`
    : `${key.type} ${key.base64}`;
}

/** `SHA256:<base64 without padding>` of a SHA-256 digest of the blob (OpenSSH's default). */
export function formatFingerprint(sha256Digest: Uint8Array): string {
  let binary = '';
  for (const byte of sha256Digest) binary += String.fromCharCode(byte);
  return `SHA256:${btoa(binary).replace(/=+$/, '')}`;
}

/** Strict base64 (RFC 4648 §4, padded): no whitespace, no URL alphabet. */
function decodeBase64(text: string): Uint8Array | undefined {
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text))
    return undefined;
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    return undefined;
  }
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** A bounds-checked reader of SSH wire fields. */
class WireReader {
  #offset = 0;
  readonly #bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  get remaining(): number {
    return this.#bytes.length - this.#offset;
  }

  /** An RFC 4251 §5 `string` (also `mpint`, whose bytes we only bound). */
  string(): Uint8Array | undefined {
    if (this.remaining < 4) return undefined;
    const b = this.#bytes;
    const o = this.#offset;
    const length =
      ((b[o] ?? 0) << 24) | ((b[o + 1] ?? 0) << 16) | ((b[o + 2] ?? 0) << 8) | (b[o + 3] ?? 0);
    if (length < 0 || length > this.remaining - 4) return undefined;
    this.#offset += 4 + length;
    return b.subarray(o + 4, o + 4 + length);
  }

  text(): string | undefined {
    const bytes = this.string();
    if (bytes === undefined) return undefined;
    let s = '';
    for (const byte of bytes) s += String.fromCharCode(byte);
    return s;
  }
}

/** Checks the blob's fields for `type`; returns what is wrong, or undefined. */
function checkBlob(type: SshKeyType, blob: Uint8Array): string | undefined {
  const r = new WireReader(blob);
  const embedded = r.text();
  if (embedded === undefined) return 'the key data is truncated (no type)';
  if (embedded !== type)
    return `the key data is a ${JSON.stringify(embedded.slice(0, 40))} key, not ${type}`;
  const problem = checkFields(type, r);
  if (problem !== undefined) return problem;
  return r.remaining === 0 ? undefined : `${r.remaining} stray bytes after the key`;
}

function checkFields(type: SshKeyType, r: WireReader): string | undefined {
  switch (type) {
    case 'ssh-ed25519':
    case 'sk-ssh-ed25519@openssh.com': {
      if (r.string()?.length !== 32) return 'an Ed25519 public key is 32 bytes';
      if (type === 'sk-ssh-ed25519@openssh.com' && r.text() === undefined)
        return 'a security-key key names its application';
      return undefined;
    }
    case 'ssh-rsa': {
      const e = r.string();
      const n = r.string();
      if (e === undefined || n === undefined || e.length === 0)
        return 'an RSA key has an exponent and a modulus';
      // Leading zero byte of a positive mpint does not count; OpenSSH refuses < 1024 bits.
      const bits = (n[0] === 0 ? n.length - 1 : n.length) * 8;
      if (bits < 1024) return `RSA keys under 1024 bits are refused (this one has ${bits})`;
      return undefined;
    }
    case 'ecdsa-sha2-nistp256':
    case 'ecdsa-sha2-nistp384':
    case 'ecdsa-sha2-nistp521':
    case 'sk-ecdsa-sha2-nistp256@openssh.com': {
      const curve = r.text();
      const expected = type.startsWith('sk-') ? 'nistp256' : type.slice('ecdsa-sha2-'.length);
      if (curve !== expected) return `an ${type} key is on curve ${expected}`;
      const q = r.string();
      // SEC 1 §2.3.3: an uncompressed point, 0x04 || X || Y.
      if (q === undefined || q.length !== EC_POINT_BYTES[expected] || q[0] !== 4)
        return 'the EC public point is malformed';
      if (type.startsWith('sk-') && r.text() === undefined)
        return 'a security-key key names its application';
      return undefined;
    }
  }
}
