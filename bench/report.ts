/**
 * The one line format every benchmark prints for each figure, so `npm run bench` can gather one table:
 *   BENCH <TAB> benchmark <TAB> metric <TAB> value <TAB> unit <TAB> target (or "-")
 */
export function benchRow(benchmark: string, metric: string, value: number, unit: string, target = "-"): string {
  const shown = Number.isInteger(value) ? String(value) : value.toFixed(value < 10 ? 2 : 1);
  return ["BENCH", benchmark, metric, shown, unit, target].join("\t");
}

/** Median and a percentile of a sample (nearest rank). */
export function percentile(sample: readonly number[], p: number): number {
  if (sample.length === 0) return Number.NaN;
  const sorted = [...sample].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
