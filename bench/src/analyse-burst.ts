/**
 * The figures every burst gets the same way (the project's, the floors', the guide shape's): wall
 * time, executions/s, end-to-end latency from Temporal's start and close times, one at a time from the
 * histories, what a history holds per execution and the dev server's counters (persistence requests,
 * history tasks). Pure: reads nothing and writes nothing.
 */
import type { OperationCounts } from '../../devtools/temporal/server-metrics';
import type { BurstResult } from './burst';
import type { HistoryFacts } from './history';
import type { Sampler } from './proc';
import { perSecond, rates, round, summarize, type Summary } from './stats';

export const r1 = (s: Summary) => ({
  n: s.n,
  mean: round(s.mean),
  p50: round(s.p50),
  p95: round(s.p95),
  p99: round(s.p99),
  max: round(s.max),
});

export const mean = (v: readonly number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN);

function peakInFlight(execs: { startMs: number; closeMs: number }[]): number {
  const ev = execs.flatMap((e) => [
    [e.startMs, 1],
    [e.closeMs, -1],
  ]);
  ev.sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0) || (a[1] ?? 0) - (b[1] ?? 0));
  let cur = 0;
  let peak = 0;
  for (const [, d] of ev) peak = Math.max(peak, (cur += d ?? 0));
  return peak;
}

/** Mean of one history figure per execution. */
export const perExecution = (list: readonly HistoryFacts[], k: keyof HistoryFacts, digits = 2) =>
  round(mean(list.map((h) => Number(h[k]))), digits);

/**
 * One of the dev server's counters per execution: the total and each operation of at least 0.05 per
 * execution (its persistence requests: reads and writes of its SQLite file; its history tasks:
 * transfer, timer, visibility). Counted, so the machine's speed does not move them.
 */
export function countsPerExecution(counts: OperationCounts | null, executions: number) {
  if (!counts || executions === 0) return null;
  const per = (n: number) => round(n / executions, 2);
  const byOperation = Object.fromEntries(
    Object.entries(counts)
      .filter(([, n]) => n / executions >= 0.05)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([op, n]) => [op, per(n)]),
  );
  return { total: per(Object.values(counts).reduce((a, n) => a + n, 0)), byOperation };
}

export function analyseBurst(b: BurstResult) {
  const ex = b.executions.filter((e) => Number.isFinite(e.closeMs));
  const closes = ex.map((e) => e.closeMs);
  const thr = rates(b.t0, closes);
  const e2e = ex.map((e) => e.closeMs - e.startMs);
  return {
    timedOut: b.timedOut,
    executions: ex.length,
    completed: ex.length - b.failed,
    failed: b.failed,
    /** Wall time: first start request -> last close. */
    makespanS: round((Math.max(...closes) - b.t0) / 1000, 2),
    startPhaseS: round((b.startsDoneAt - b.t0) / 1000, 2),
    executionsPerS: { sustained: round(thr.sustained), overall: round(thr.overall) },
    // Unfinished executions (a run cut by BENCH_TIMEOUT_MS) count as in flight to the end.
    peakInFlight: peakInFlight(
      b.executions.map((e) => ({
        startMs: e.startMs,
        closeMs: Number.isFinite(e.closeMs) ? e.closeMs : Infinity,
      })),
    ),
    startLatencyMs: r1(summarize(b.startLatencyMs)),
    e2eMs: r1(summarize(e2e)),
    sampledHistories: b.histories.length,
    devServerOperations: countsPerExecution(b.devServer?.persistence ?? null, ex.length),
    devServerTasks: countsPerExecution(b.devServer?.tasks ?? null, ex.length),
    /** The API activities' timeouts as scheduled (each distinct one in the sampled histories). */
    apiActivityTimeouts: [...new Set(b.histories.map((h) => h.apiActivityTimeouts))].sort(),
    apiMs: r1(summarize(b.histories.map((h) => h.apiMs))),
    overheadMs: r1(summarize(b.histories.map((h) => h.overheadMs))),
    isolated: {
      n: b.isolated.length,
      e2eMs: r1(summarize(b.isolated.map((h) => h.e2eMs))),
      apiMs: r1(summarize(b.isolated.map((h) => h.apiMs))),
      overheadMs: r1(summarize(b.isolated.map((h) => h.overheadMs))),
    },
    /** Per-execution values for the chart (left out of latest.json). */
    values: {
      e2eMs: e2e,
      overheadMs: b.histories.map((h) => h.overheadMs),
      isolatedE2eMs: b.isolated.map((h) => h.e2eMs),
      isolatedOverheadMs: b.isolated.map((h) => h.overheadMs),
      completionsPerS: perSecond(b.t0, closes, 500).map((v) => round(v)),
    },
  };
}

/**
 * A reference burst (a floor, the guide shape): the burst's figures, what its histories hold per
 * execution, and the CPU and memory of its worker and of the dev server while it ran.
 */
export function analyseReference(b: BurstResult, sampler: Sampler | null) {
  const lastClose = Math.max(...b.executions.map((e) => e.closeMs).filter(Number.isFinite));
  const done = b.executions.filter((e) => Number.isFinite(e.closeMs)).length;
  const per1000 = (name: string) =>
    round((sampler ? sampler.delta(name, b.t0, lastClose) / done : NaN) * 1000, 2);
  return {
    ...analyseBurst(b),
    historyPerExecution: {
      events: perExecution(b.histories, 'events'),
      workflowTasks: perExecution(b.histories, 'workflowTasks'),
      activities: perExecution(b.histories, 'activities'),
      localActivities: perExecution(b.histories, 'localActivities'),
    },
    processes: sampler
      ? {
          workerPeakRssMb: round(Math.max(...sampler.samples.map((s) => s.byName.worker?.peakRssMb ?? 0))),
          workerCpuSPer1000: per1000('worker'),
          devServerCpuSPer1000: per1000('temporal'),
        }
      : null,
  };
}

export type ReferenceAnalysis = ReturnType<typeof analyseReference>;
