/** Small statistics and reporting helpers for benchmarks. */

/** One benchmark's named figures. */
export interface BenchResult {
  readonly name: string;
  readonly figures: Readonly<Record<string, number>>;
}

/** The p-th percentile (nearest rank) of `samples`. */
export function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

/** Formats results as a human report. */
export function report(results: readonly BenchResult[]): string {
  return results
    .map((r) => {
      const figures = Object.entries(r.figures)
        .map(([k, v]) => `${k} ${v >= 100 ? v.toFixed(0) : v.toFixed(2)}`)
        .join(', ');
      return `${r.name}: ${figures}`;
    })
    .join('\n');
}
