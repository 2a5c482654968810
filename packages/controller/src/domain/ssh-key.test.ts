import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeSshPublicKey,
  encodeSshPublicKey,
  formatFingerprint,
  type SshPublicKey,
} from './ssh-key.ts';

const DIR = join(import.meta.dirname, 'testdata', 'ssh-keys');
const read = (name: string): string => readFileSync(join(DIR, name), 'utf8');
const FINGERPRINTS = new Map(
  read('fingerprints.txt')
    .trim()
    .split('\n')
    .map((l) => l.split(' ') as [string, string]),
);

function decoded(line: string): SshPublicKey {
  const r = decodeSshPublicKey(line);
  if (!r.ok) throw new Error(r.error.detail);
  return r.value;
}

const sha256 = (b: Uint8Array): Uint8Array => createHash('sha256').update(b).digest();

/** Re-encodes a blob from SSH wire strings. */
function blob(...fields: (string | Uint8Array)[]): string {
  const parts = fields.map((f) => (typeof f === 'string' ? Buffer.from(f, 'latin1') : f));
  return Buffer.concat(
    parts.flatMap((p) => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(p.length);
      return [len, p];
    }),
  ).toString('base64');
}

describe('decodeSshPublicKey on keys made by ssh-keygen', () => {
  const cases: Record<string, { type: string; comment: string }> = {
    'ed25519.pub': { type: 'ssh-ed25519', comment: 'alice@laptop' },
    'rsa.pub': { type: 'ssh-rsa', comment: 'bob@build host' },
    'ecdsa256.pub': { type: 'ecdsa-sha2-nistp256', comment: 'carol@ecdsa256' },
    'ecdsa384.pub': { type: 'ecdsa-sha2-nistp384', comment: 'carol@ecdsa384' },
    'ecdsa521.pub': { type: 'ecdsa-sha2-nistp521', comment: '' },
    'sk-ed25519.pub': { type: 'sk-ssh-ed25519@openssh.com', comment: 'dave@yubikey' },
    'sk-ecdsa.pub': { type: 'sk-ecdsa-sha2-nistp256@openssh.com', comment: 'dave@yubikey' },
  };

  it.each(Object.entries(cases))(
    '%s: type, comment and ssh-keygen -l fingerprint',
    (file, want) => {
      const line = read(file);
      const key = decoded(line);
      expect(key.type).toBe(want.type);
      expect(key.comment).toBe(want.comment);
      expect(formatFingerprint(sha256(key.blob))).toBe(FINGERPRINTS.get(file));
      expect(encodeSshPublicKey(key)).toBe(line.trim());
    },
  );

  it('normalises whitespace and keeps a comment with spaces', () => {
    const [type = '', data = ''] = read('ed25519.pub').split(' ');
    const key = decoded(`  ${type}\t ${data}   my  laptop \n`);
    expect(encodeSshPublicKey(key)).toBe(`${type} ${data} my  laptop`);
  });
});

describe('decodeSshPublicKey refuses', () => {
  const ed = read('ed25519.pub').trim();
  const [, edData = ''] = ed.split(' ');
  const edBlob = Buffer.from(edData, 'base64');
  const pk = edBlob.subarray(edBlob.length - 32);
  const bad: Record<string, [string, RegExp]> = {
    empty: ['', /empty/],
    'a type it does not know': [`ssh-dss ${edData}`, /unsupported key type/],
    'authorized_keys options': [`from="10.0.0.1",no-pty ${ed}`, /options/],
    'a private key': ['-----BEGIN OPENSSH PRIVATE KEY-----', /private key/],
    'RFC 4716 form': ['---- BEGIN SSH2 PUBLIC KEY ----', /ssh-keygen -i/],
    'two lines': [`${ed}\n${ed}`, /one key per line/],
    'no key data': ['ssh-ed25519', /base64/],
    'broken base64': [`ssh-ed25519 ${edData.slice(0, -3)}!!=`, /base64/],
    'unpadded base64': [`ssh-ed25519 ${edData.replace(/=+$/, '')}A`, /base64/],
    'a blob of another type': [`ssh-rsa ${edData}`, /is a "ssh-ed25519" key, not ssh-rsa/],
    'a truncated blob': [`ssh-ed25519 ${edBlob.subarray(0, 20).toString('base64')}`, /32 bytes/],
    'stray bytes': [`ssh-ed25519 ${blob('ssh-ed25519', pk, 'x')}`, /stray bytes/],
    'a length past the end': [
      `ssh-ed25519 ${Buffer.from([0, 0, 0, 99, 0x73]).toString('base64')}`,
      /truncated/,
    ],
    'a short Ed25519 key': [`ssh-ed25519 ${blob('ssh-ed25519', pk.subarray(1))}`, /32 bytes/],
    'an sk key without application': [
      `sk-ssh-ed25519@openssh.com ${blob('sk-ssh-ed25519@openssh.com', pk)}`,
      /application/,
    ],
    'a tiny RSA modulus': [
      `ssh-rsa ${blob('ssh-rsa', Uint8Array.of(1, 0, 1), new Uint8Array(64).fill(7))}`,
      /under 1024 bits/,
    ],
    'an ECDSA key on the wrong curve': [
      `ecdsa-sha2-nistp256 ${blob('ecdsa-sha2-nistp256', 'nistp384', new Uint8Array(65).fill(4))}`,
      /curve nistp256/,
    ],
    'a compressed EC point': [
      `ecdsa-sha2-nistp256 ${blob('ecdsa-sha2-nistp256', 'nistp256', new Uint8Array(33).fill(2))}`,
      /point/,
    ],
    'a huge line': [`ssh-ed25519 ${'A'.repeat(20_000)}`, /longer than/],
  };

  it.each(Object.entries(bad))('%s', (_name, [line, message]) => {
    const r = decodeSshPublicKey(line);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.detail).toMatch(message);
  });

  it('never throws, whatever the line', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.uint8Array({ maxLength: 200 }), (s, b) => {
        decodeSshPublicKey(s);
        decodeSshPublicKey(`ssh-ed25519 ${Buffer.from(b).toString('base64')} ${s}`);
        decodeSshPublicKey(`ecdsa-sha2-nistp256 ${Buffer.from(b).toString('base64')}`);
      }),
    );
  });
});
