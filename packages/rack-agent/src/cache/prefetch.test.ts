import { err, ok, silentLogger } from '@ingot/common';
import { describe, expect, it } from 'vitest';
import type { BootFile } from '../domain/boot-plan.ts';
import type { CacheError } from './image-cache.ts';
import { prefetchFiles } from './prefetch.ts';

const file = (n: number): BootFile => ({
  role: n === 1 ? 'kernel' : 'root-image',
  sha256: String(n).repeat(64),
  sizeBytes: n * 100,
  name: `f${n}`,
});

describe('prefetchFiles', () => {
  it('ensures every file in order and hands each unusable one to onFailure', async () => {
    const asked: string[] = [];
    const bad: CacheError = {
      kind: 'unavailable',
      sha256: file(2).sha256,
      message: 'the downloaded bytes failed sha256 verification',
    };
    const failures: [string, string][] = [];
    await prefetchFiles(
      {
        ensure: (sha256, size) => {
          asked.push(`${sha256.slice(0, 1)}:${size}`);
          return Promise.resolve(sha256 === bad.sha256 ? err(bad) : ok(`/cache/${sha256}`));
        },
      },
      [file(1), file(2), file(3)],
      silentLogger,
      (f, e) => failures.push([f.name, e.message]),
    );
    expect(asked).toEqual(['1:100', '2:200', '3:300']);
    expect(failures).toEqual([['f2', 'the downloaded bytes failed sha256 verification']]);
  });
});
