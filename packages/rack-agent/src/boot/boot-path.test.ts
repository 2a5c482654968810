import { describe, expect, it } from 'vitest';
import { normaliseBootPath } from './boot-path.ts';

const accepted: Record<string, [raw: string, path: string, mac?: string]> = {
  'plain name': ['undionly.kpxe', 'undionly.kpxe'],
  'HTTP leading slash': ['/ipxe.efi', 'ipxe.efi'],
  'nested path': ['/grub/grub.cfg-52:54:00:12:34:56', 'grub/grub.cfg-52:54:00:12:34:56'],
  'dot segments dropped': ['/./images/./abc', 'images/abc'],
  'query split off': ['/ipxe/script?mac=52:54:00:12:34:56', 'ipxe/script', '52:54:00:12:34:56'],
  'encoded query value': [
    '/ipxe/script?mac=52%3A54%3A00%3A12%3A34%3A56',
    'ipxe/script',
    '52:54:00:12:34:56',
  ],
  'percent-encoded ordinary char': ['/ipxe%2Eefi', 'ipxe.efi'],
  'encoded slash is a separator after decoding': ['/grub%2Fgrub.cfg', 'grub/grub.cfg'],
};

// The traversal corpus: every entry must be refused as forbidden, whatever exists on disk.
const forbidden: Record<string, string> = {
  'parent segment': '../etc/passwd',
  'parent after root': '/../etc/passwd',
  'parent in the middle': 'images/../../etc/shadow',
  'parent at the end': 'images/..',
  'encoded dots': '%2e%2e/etc/passwd',
  'encoded dots upper case': '%2E%2E%2Fetc%2Fpasswd',
  'mixed encoding': '.%2e/etc/passwd',
  'double-encoded dots': '%252e%252e/etc/passwd',
  'double-encoded slash': '..%252fetc',
  'overlong UTF-8 dot': '%c0%ae%c0%ae/etc/passwd',
  'invalid percent escape': '%zz/passwd',
  'truncated percent escape': 'images/%e',
  'NUL byte': 'ipxe.efi\0.png',
  'encoded NUL': 'ipxe.efi%00.png',
  'backslash traversal': '..\\..\\windows\\win.ini',
  'encoded backslash': '..%5c..%5cetc',
  'single backslash': 'images\\abc',
  'absolute host path (double slash)': '//etc/passwd',
  'empty segment': 'images//abc',
  'drive letter': 'C:/windows/system32',
  'home directory': '~root/.ssh/id_rsa',
  'fullwidth dots': '\uff0e\uff0e/etc/passwd',
  'encoded fullwidth dots': '%ef%bc%8e%ef%bc%8e/etc/passwd',
  newline: 'ipxe.efi\nfoo',
  'encoded newline': 'ipxe.efi%0afoo',
  'DEL byte': 'ipxe\x7f.efi',
  'space in name': 'ipxe efi',
  'too long': `images/${'a'.repeat(2000)}`,
};

describe('normaliseBootPath', () => {
  it.each(Object.entries(accepted))('accepts %s', (_name, [raw, path, mac]) => {
    const result = normaliseBootPath(raw);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.path).toBe(path);
    expect(result.value.segments.join('/')).toBe(path);
    expect(result.value.query.get('mac')).toBe(mac);
  });

  it.each(Object.entries(forbidden))('refuses %s', (_name, raw) => {
    const result = normaliseBootPath(raw);
    expect(result).toMatchObject({ ok: false, error: { kind: 'forbidden' } });
  });

  it('reports the empty path as not found', () => {
    expect(normaliseBootPath('/')).toMatchObject({ ok: false, error: { kind: 'not-found' } });
    expect(normaliseBootPath('')).toMatchObject({ ok: false, error: { kind: 'not-found' } });
  });

  it('never echoes raw control bytes into the error', () => {
    const result = normaliseBootPath('a\0b');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.path).toBe('a\\x00b');
  });
});
