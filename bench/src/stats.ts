/** Small statistics helpers: percentiles, summaries, per-interval rates. */

export interface Summary {
  n: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of an ascending array (p in 0..100). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? NaN;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  return {
    n,
    mean: n === 0 ? NaN : sorted.reduce((a, b) => a + b, 0) / n,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted[n - 1] ?? NaN,
  };
}

/**
 * Sustained rate: completions per second between the 10th and the 90th percentile completion time
 * (leaves out the ramp-up and the tail), plus the overall rate over the whole makespan.
 */
export function rates(startMs: number, ends: readonly number[]): { sustained: number; overall: number } {
  const sorted = [...ends].sort((a, b) => a - b);
  const n = sorted.length;
  const last = sorted[n - 1] ?? startMs;
  const overall = n / Math.max(0.001, (last - startMs) / 1000);
  if (n < 10) return { sustained: overall, overall };
  const i10 = Math.floor(n * 0.1);
  const i90 = Math.ceil(n * 0.9) - 1;
  const span = ((sorted[i90] ?? 0) - (sorted[i10] ?? 0)) / 1000;
  return { sustained: span > 0 ? (i90 - i10) / span : overall, overall };
}

/** Events per bucket from `startMs`, as a rate per second. */
export function perSecond(startMs: number, times: readonly number[], bucketMs: number): number[] {
  const out: number[] = [];
  for (const t of times) {
    const i = Math.max(0, Math.floor((t - startMs) / bucketMs));
    while (out.length <= i) out.push(0);
    out[i] = (out[i] ?? 0) + 1;
  }
  return out.map((c) => (c * 1000) / bucketMs);
}

export function round(x: number, digits = 1): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
