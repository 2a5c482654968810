import { describe, expect, it } from 'vitest';
import { DECOY_HASH, hashPassword, passwordMatches } from './password-hash.ts';

describe('password hashes', () => {
  it('match only their password, with a fresh salt each time', async () => {
    const a = await hashPassword('hunter2-but-longer');
    const b = await hashPassword('hunter2-but-longer');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(await passwordMatches('hunter2-but-longer', a)).toBe(true);
    expect(await passwordMatches('hunter2-but-longer', b)).toBe(true);
    expect(await passwordMatches('hunter2-but-longeR', a)).toBe(false);
  });

  it('never match a malformed or decoy hash', async () => {
    for (const stored of [
      DECOY_HASH,
      '',
      'scrypt$1$1$1$x$y',
      'bcrypt$2$a',
      'scrypt$99999999$8$1$AAAA$AAAA',
    ]) {
      expect(await passwordMatches('anything at all', stored)).toBe(false);
    }
  });
});
