/**
 * The floors measured on both sides of the project's part (BENCH_BRACKET, on by default when both
 * run). A shared machine's speed moves during a run: a floor measured only after the project
 * compares the project with another machine. With the floor measured before and after, the figures
 * the ratios use are the mean of the two, and the drift says how far the floor itself moved
 * (after / before - 1, by sustained executions/s). Pure.
 */
import type { ReferenceAnalysis } from './analyse-burst';
import { round } from './stats';

type Percentiles = ReferenceAnalysis['e2eMs'];

const avg = (a: number, b: number) => round((a + b) / 2);
const avgPercentiles = (a: Percentiles, b: Percentiles): Percentiles => ({
  n: a.n + b.n,
  mean: avg(a.mean, b.mean),
  p50: avg(a.p50, b.p50),
  p95: avg(a.p95, b.p95),
  p99: avg(a.p99, b.p99),
  max: Math.max(a.max, b.max),
});

/**
 * `after` with its rates, wall time, end-to-end times and CPU per 1000 replaced by the mean of both
 * runs (its per-execution values, histories and memory stay its own). Either alone when the other
 * is missing.
 */
export function bracketed(
  before: ReferenceAnalysis | null,
  after: ReferenceAnalysis | null,
): ReferenceAnalysis | null {
  if (!before || !after) return after ?? before;
  return {
    ...after,
    makespanS: avg(before.makespanS, after.makespanS),
    executionsPerS: {
      sustained: avg(before.executionsPerS.sustained, after.executionsPerS.sustained),
      overall: avg(before.executionsPerS.overall, after.executionsPerS.overall),
    },
    e2eMs: avgPercentiles(before.e2eMs, after.e2eMs),
    isolated:
      before.isolated.n && after.isolated.n
        ? {
            ...after.isolated,
            e2eMs: avgPercentiles(before.isolated.e2eMs, after.isolated.e2eMs),
          }
        : after.isolated,
    processes:
      before.processes && after.processes
        ? {
            workerPeakRssMb: Math.max(before.processes.workerPeakRssMb, after.processes.workerPeakRssMb),
            workerCpuSPer1000: avg(before.processes.workerCpuSPer1000, after.processes.workerCpuSPer1000),
            devServerCpuSPer1000: avg(
              before.processes.devServerCpuSPer1000,
              after.processes.devServerCpuSPer1000,
            ),
          }
        : after.processes,
  };
}

export interface Bracket {
  /** Sustained executions/s before and after the project's part. */
  before: number;
  after: number;
  /** after / before - 1 (0.1: the floor ran 10 % faster after the project than before it). */
  drift: number;
}

/** Beyond this drift the machine's speed moved enough during the run to move a ratio past a target. */
export const DRIFT_WARNING = 0.1;

export function bracketOf(before: ReferenceAnalysis | null, after: ReferenceAnalysis | null): Bracket | null {
  if (!before || !after || !(before.executionsPerS.sustained > 0)) return null;
  return {
    before: before.executionsPerS.sustained,
    after: after.executionsPerS.sustained,
    drift: round(after.executionsPerS.sustained / before.executionsPerS.sustained - 1, 3),
  };
}
