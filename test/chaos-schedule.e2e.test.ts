// The chaos schedule is a pure function of the seed: a printed seed replays the same kills.
// Fast and process-free; it lives in the e2e project, which collects the files under test/.
import { describe, expect, it } from 'vitest';
import { chaosSchedule } from './harness/chaos-scenario.ts';
import { chaosSeed, createSeededRandom } from './harness/cluster-random.ts';

const OPTIONS = { controllers: 2, kills: 8, windowMs: 40_000, minDownMs: 300, maxDownMs: 3000 };

describe('chaos schedule', () => {
  it('is the same for the same seed and differs for another', () => {
    const a = chaosSchedule(createSeededRandom(42), OPTIONS);
    expect(chaosSchedule(createSeededRandom(42), OPTIONS)).toEqual(a);
    expect(chaosSchedule(createSeededRandom(43), OPTIONS)).not.toEqual(a);
  });
  it('is bounded, sorted, and kills every target at least once', () => {
    for (let seed = 0; seed < 200; seed++) {
      const s = chaosSchedule(createSeededRandom(seed), OPTIONS);
      expect(s).toHaveLength(8);
      expect(s.map((a) => a.atMs)).toEqual([...s.map((a) => a.atMs)].sort((x, y) => x - y));
      for (const a of s) {
        expect(a.atMs).toBeGreaterThanOrEqual(0);
        expect(a.atMs).toBeLessThan(40_000);
        expect(a.downMs).toBeGreaterThanOrEqual(300);
        expect(a.downMs).toBeLessThanOrEqual(3000);
      }
      expect(new Set(s.map((a) => a.target))).toEqual(new Set(['agent', 0, 1]));
    }
  });
  it('reads CHAOS_SEED, refuses a non-integer, and makes one up otherwise', () => {
    expect(chaosSeed({ CHAOS_SEED: '1234' })).toBe(1234);
    expect(() => chaosSeed({ CHAOS_SEED: 'abc' })).toThrow(/CHAOS_SEED must be an integer/);
    expect(Number.isInteger(chaosSeed({}))).toBe(true);
  });
});
