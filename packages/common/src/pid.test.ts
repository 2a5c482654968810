import { describe, expect, it } from 'vitest';
import { isProcessPid, parsePidFile } from './pid.ts';

describe('PID files', () => {
  it('read one process, never a group or everything', () => {
    expect(parsePidFile('4242\n')).toBe(4242);
    expect(parsePidFile('  4242  \n/var/lib/postgresql\n5432\n')).toBe(4242);
    // An empty file (created, not yet written) would be Number('') === 0: kill(0) = own group.
    expect(parsePidFile('')).toBeUndefined();
    expect(parsePidFile('\n')).toBeUndefined();
    expect(parsePidFile('0')).toBeUndefined();
    expect(parsePidFile('1')).toBeUndefined();
    expect(parsePidFile('-1')).toBeUndefined();
    expect(parsePidFile('-4242')).toBeUndefined();
    expect(parsePidFile('42a')).toBeUndefined();
    expect(parsePidFile('4.2')).toBeUndefined();
    expect([0, 1, -1, -7, 2.5, Number.NaN, '9'].map(isProcessPid)).toEqual(Array(7).fill(false));
    expect(isProcessPid(2)).toBe(true);
  });
});
