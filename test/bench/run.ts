/**
 * `pnpm bench`: the benchmarks of the foundation. Prints a human report; figures, not assertions.
 */
import { benchAllocation } from './allocation.ts';
import { benchEvents } from './events.ts';
import { report, type BenchResult } from './stats.ts';

const results: BenchResult[] = [];
for (const size of [10_000, 100_000]) {
  results.push(...(await benchAllocation(size)));
  process.stdout.write(report(results.slice(-2)) + '\n');
}
results.push(await benchEvents(5000));
process.stdout.write(report(results.slice(-1)) + '\n');
const allocation = results.filter((r) => r.name.startsWith('allocate any'));
const events = results.at(-1);
process.stdout.write(
  `bench: allocate p99 ${allocation.map((r) => `${(r.figures.p99_ms ?? 0).toFixed(1)} ms`).join(' / ')} (10k / 100k machines), ` +
    `events ${(events?.figures['events/s end to end'] ?? 0).toFixed(0)}/s agent→controller→ws\n`,
);
