import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, progressView } from './progress.ts';

describe('progress', () => {
  it('shows bytes written of the total, floored so nearly-done is not 100 %', () => {
    const MiB = 1024 * 1024;
    const v = progressView(undefined, { atMs: 0, done: 411 * MiB, total: 822 * MiB });
    expect(v).toMatchObject({ fraction: 0.5, percent: 50, text: '411.0 MiB of 822.0 MiB' });
    expect(progressView(undefined, { atMs: 0, done: 999, total: 1000 }).percent).toBe(99);
    expect(progressView(undefined, { atMs: 0, done: 1000, total: 1000 }).percent).toBe(100);
    // A report past the total (the last block) is clamped.
    expect(progressView(undefined, { atMs: 0, done: 1100, total: 1000 })).toMatchObject({
      fraction: 1,
      percent: 100,
    });
  });

  it('derives the rate and time left from the first and latest samples', () => {
    const v = progressView(
      { atMs: 10_000, done: 100 * 1048576, total: 900 * 1048576 },
      { atMs: 14_000, done: 500 * 1048576, total: 900 * 1048576 },
    );
    expect(v.bytesPerSecond).toBe(100 * 1048576);
    expect(v.remainingMs).toBe(4000);
    // One sample, or no bytes since: no rate rather than a division by zero.
    expect(progressView(undefined, { atMs: 1, done: 5, total: 10 }).bytesPerSecond).toBeUndefined();
    const still = { atMs: 1, done: 5, total: 10 };
    expect(progressView(still, { ...still, atMs: 2 }).remainingMs).toBeUndefined();
  });

  it('an unknown total shows only the bytes done', () => {
    expect(progressView(undefined, { atMs: 0, done: 2048, total: 0 })).toMatchObject({
      fraction: 0,
      text: '2.0 KiB',
    });
  });

  it('formats sizes and durations for people', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(4 * 1024 ** 3)).toBe('4.00 GiB');
    expect(formatBytes(-1)).toBe('?');
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(4200)).toBe('4.2 s');
    expect(formatDuration(65_000)).toBe('1 m 05 s');
    expect(formatDuration(3_720_000)).toBe('1 h 02 m');
  });
});
