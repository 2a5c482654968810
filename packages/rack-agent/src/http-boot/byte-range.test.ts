import { describe, expect, it } from 'vitest';
import { decideByteRange, type ByteRangeDecision } from './byte-range.ts';

const SIZE = 1000;
const cases: Record<string, [header: string | undefined, size: number, ByteRangeDecision]> = {
  'no header': [undefined, SIZE, { kind: 'full' }],
  'first 100 bytes': ['bytes=0-99', SIZE, { kind: 'partial', start: 0, end: 99 }],
  'open-ended': ['bytes=100-', SIZE, { kind: 'partial', start: 100, end: 999 }],
  suffix: ['bytes=-100', SIZE, { kind: 'partial', start: 900, end: 999 }],
  'suffix longer than the file': ['bytes=-5000', SIZE, { kind: 'partial', start: 0, end: 999 }],
  'end clamped': ['bytes=990-5000', SIZE, { kind: 'partial', start: 990, end: 999 }],
  'last byte': ['bytes=999-999', SIZE, { kind: 'partial', start: 999, end: 999 }],
  'unit case and spaces': ['Bytes = 1 - 2', SIZE, { kind: 'partial', start: 1, end: 2 }],
  'start at size': ['bytes=1000-', SIZE, { kind: 'unsatisfiable' }],
  'start past size': ['bytes=5000-6000', SIZE, { kind: 'unsatisfiable' }],
  'zero suffix': ['bytes=-0', SIZE, { kind: 'unsatisfiable' }],
  'any range of an empty file': ['bytes=0-', 0, { kind: 'unsatisfiable' }],
  'reversed range is ignored': ['bytes=10-5', SIZE, { kind: 'full' }],
  'several ranges are ignored': ['bytes=0-1,5-6', SIZE, { kind: 'full' }],
  'other unit is ignored': ['items=0-1', SIZE, { kind: 'full' }],
  'garbage is ignored': ['bytes=abc', SIZE, { kind: 'full' }],
  'empty range is ignored': ['bytes=-', SIZE, { kind: 'full' }],
  'huge number is ignored': ['bytes=0-99999999999999999999', SIZE, { kind: 'full' }],
  'beyond 4 GiB': [
    'bytes=5000000000-',
    6_000_000_000,
    { kind: 'partial', start: 5e9, end: 5999999999 },
  ],
};

describe('decideByteRange', () => {
  it.each(Object.entries(cases))('%s', (_name, [header, size, expected]) => {
    expect(decideByteRange(header, size)).toEqual(expected);
  });
});
