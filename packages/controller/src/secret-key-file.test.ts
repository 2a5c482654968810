import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadOrCreateSecretKey } from './secret-key-file.ts';

describe('secrets.key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ingot-key-'));
  afterEach(() => rmSync(join(dir, 'secrets.key'), { force: true }));

  it('is created once with 32 random bytes, mode 0600, and read back after', () => {
    const path = join(dir, 'secrets.key');
    const first = loadOrCreateSecretKey(path);
    expect(first.created).toBe(true);
    expect(first.key).toHaveLength(32);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const second = loadOrCreateSecretKey(path);
    expect(second.created).toBe(false);
    expect(second.key.equals(first.key)).toBe(true);
  });

  it('refuses a file of another size instead of replacing it', () => {
    const path = join(dir, 'secrets.key');
    writeFileSync(path, 'short', { mode: 0o644 });
    expect(() => loadOrCreateSecretKey(path)).toThrow(/has 5 bytes, not 32/);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });
});
