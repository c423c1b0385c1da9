/**
 * The benchmark's analysis: turns what a run collected (execution timings, history samples, process
 * samples, the warehouse's refresh log, the references' timings) into the figures of latest.json.
 * Pure: reads nothing and writes nothing.
 */
import { CORES, type BenchConfig } from './config';
import type { OrchestratedResult } from './orchestrated';
import type { ProcSample, Sampler } from './proc';
import type { BlockingResult, RawResult } from './references';
import type { Stack } from './stack';
import { perSecond, rates, round, summarize, type Summary } from './stats';

export interface RefreshLogRow {
  refreshId: string;
  startedMs: number;
  finishedMs: number;
  success: boolean;
  durationMs: number;
  requests: number;
  modelRows: number | null;
}

/** What the run left in the warehouse: completed rows (state table, model) and the refresh log. */
export interface WarehouseReadout {
  modelCompleted: number;
  stateCompleted: number;
  refreshLog: RefreshLogRow[];
}

/** The sample at or just after `t` (or the last one). */
function at(sampler: Sampler, t: number) {
  return sampler.samples.find((s) => s.t >= t) ?? sampler.samples.at(-1);
}

function cpuDelta(
  sampler: Sampler,
  name: string,
  from: number,
  to: number,
  field: keyof ProcSample = 'cpuS',
) {
  const a = at(sampler, from)?.byName[name];
  const b = at(sampler, to)?.byName[name];
  return a && b ? b[field] - a[field] : NaN;
}

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

const r1 = (s: Summary) => ({
  n: s.n,
  mean: round(s.mean),
  p50: round(s.p50),
  p95: round(s.p95),
  p99: round(s.p99),
  max: round(s.max),
});
const mean = (v: readonly number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN);

export function analyse(
  cfg: BenchConfig,
  stack: Stack,
  run: OrchestratedResult,
  sampler: Sampler,
  wh: WarehouseReadout,
  workerStats: Record<string, unknown> | null,
) {
  const ex = run.executions.filter((e) => Number.isFinite(e.closeMs));
  const closes = ex.map((e) => e.closeMs);
  const lastClose = Math.max(...closes);
  const firstClose = Math.min(...closes);
  const thr = rates(run.t0, closes);
  const hist = run.histories;
  const perExec = (k: keyof (typeof hist)[number]) => round(mean(hist.map((h) => Number(h[k]))), 2);
  /** Where an execution's time goes, as Temporal's history shows it (mean ms per execution). */
  const profile = (list: typeof hist) => {
    const m = (k: keyof (typeof hist)[number]) => round(mean(list.map((h) => Number(h[k]))), 1);
    return {
      e2e: m('e2eMs'),
      api: m('apiMs'),
      workflowTaskQueue: m('wftQueueMs'),
      workflowTaskRunInclLocalActivities: m('wftRunMs'),
      activityQueue: m('activityQueueMs'),
      stateWriteActivities: m('stateWriteMs'),
      refreshAskActivity: m('refreshAskMs'),
    };
  };

  const wstats = (workerStats?.warehouse ?? {}) as Record<string, number>;
  const stateWritesPerExec = mean(hist.map((h) => h.stateWrites));
  const phaseS = (lastClose - run.t0) / 1000;

  // dbt: the runs that served the measured executions (the warm-up asked for none).
  const runs = wh.refreshLog.filter((r) => r.finishedMs >= run.t0);
  const okRuns = runs.filter((r) => r.success);
  const lastOk = okRuns.at(-1);
  const meanDbtMs = mean(runs.map((r) => r.durationMs));
  const windowMs = (lastOk?.finishedMs ?? lastClose) - firstClose;

  const worker = {
    cpuS: cpuDelta(sampler, 'worker', run.t0, lastClose),
    temporal: cpuDelta(sampler, 'temporal', run.t0, lastClose),
    simulator: cpuDelta(sampler, 'simulator', run.t0, lastClose),
    runner: cpuDelta(sampler, 'runner', run.t0, lastClose),
  };
  const stackCpu = worker.cpuS + worker.temporal + worker.simulator + worker.runner;
  const machineBusy =
    (at(sampler, lastClose)?.machine.busyS ?? NaN) - (at(sampler, run.t0)?.machine.busyS ?? NaN);
  const samplesInPhase = sampler.samples.filter((s) => s.t >= run.t0);
  const rssPoints = samplesInPhase
    .map((s) => [(s.t - run.t0) / 1000, s.byName.worker?.rssMb ?? NaN] as [number, number])
    .filter((p) => Number.isFinite(p[1]));
  const peakRss = Math.max(...sampler.samples.map((s) => s.byName.worker?.peakRssMb ?? 0));
  const peakRssInPhase = Math.max(...samplesInPhase.map((s) => s.byName.worker?.rssMb ?? 0));

  return {
    timedOut: run.timedOut,
    executions: ex.length,
    completed: ex.length - run.failed,
    failed: run.failed,
    stateRowsCompleted: wh.stateCompleted,
    makespanS: round(phaseS, 2),
    startPhaseS: round((run.startsDoneAt - run.t0) / 1000, 2),
    executionsPerS: { sustained: round(thr.sustained), overall: round(thr.overall) },
    // Unfinished executions (a run cut by BENCH_TIMEOUT_MS) count as in flight to the end.
    peakInFlight: peakInFlight(
      run.executions.map((e) => ({
        startMs: e.startMs,
        closeMs: Number.isFinite(e.closeMs) ? e.closeMs : Infinity,
      })),
    ),
    startLatencyMs: r1(summarize(run.startLatencyMs)),
    e2eMs: r1(summarize(ex.map((e) => e.closeMs - e.startMs))),
    sampledHistories: hist.length,
    apiMs: r1(summarize(hist.map((h) => h.apiMs))),
    overheadMs: r1(summarize(hist.map((h) => h.overheadMs))),
    overheadVsNominalLatencyMs: r1(summarize(hist.map((h) => h.e2eMs - 3 * cfg.latencyMs))),
    isolated: {
      n: run.isolated.length,
      e2eMs: r1(summarize(run.isolated.map((h) => h.e2eMs))),
      apiMs: r1(summarize(run.isolated.map((h) => h.apiMs))),
      overheadMs: r1(summarize(run.isolated.map((h) => h.overheadMs))),
      profileMsPerExecution: profile(run.isolated),
    },
    profileMsPerExecution: profile(hist),
    historyPerExecution: {
      events: perExec('events'),
      workflowTasks: perExec('workflowTasks'),
      activities: perExec('activities'),
      localActivities: perExec('localActivities'),
      workflowTaskTimeouts: perExec('wftTimeouts'),
      workflowTaskFailures: perExec('wftFailures'),
      stateWrites: round(stateWritesPerExec, 2),
    },
    stateWrites: {
      perExecution: round(stateWritesPerExec, 2),
      perSecond: round((stateWritesPerExec * ex.length) / phaseS),
      warehouse: {
        opens: wstats.opens ?? null,
        statements: wstats.statements ?? null,
        batches: wstats.batches ?? null,
        rowsWritten: wstats.rowsWritten ?? null,
        lockRetries: wstats.lockRetries ?? null,
        busyErrors: wstats.busyErrors ?? null,
        rowsPerStatement: round((wstats.rowsWritten ?? NaN) / (wstats.statements ?? NaN), 1),
        rowsPerOpen: round((wstats.rowsWritten ?? NaN) / (wstats.opens ?? NaN), 1),
        note: 'whole worker process lifetime, warm-up included; rowsWritten counts rows after coalescing',
      },
    },
    dbt: {
      invocations: runs.length,
      failures: runs.length - okRuns.length,
      meanDurationS: round(meanDbtMs / 1000, 2),
      busyS: round(runs.reduce((a, r) => a + r.durationMs, 0) / 1000, 2),
      windowS: round(windowMs / 1000, 2),
      invocationsPerRunDuration: round(runs.length / (windowMs / meanDbtMs), 2),
      requestsServed: run.refresh?.requestsServed ?? null,
      modelRowsCompleted: wh.modelCompleted,
      lagS: lastOk ? round((lastOk.finishedMs - lastClose) / 1000, 2) : null,
      lagObservedS: run.modelFreshObservedAt ? round((run.modelFreshObservedAt - lastClose) / 1000, 2) : null,
    },
    worker: {
      peakRssMb: round(peakRss),
      peakRssDuringRunMb: round(peakRssInPhase),
      cpuS: round(worker.cpuS, 2),
      cpuSPer1000: round((worker.cpuS / ex.length) * 1000, 2),
      tuning: stack.workerTuning,
    },
    cpu: {
      devServerS: round(worker.temporal, 2),
      devServerShareOfStack: round(worker.temporal / stackCpu, 3),
      devServerShareOfMachine: round(worker.temporal / (phaseS * CORES), 3),
      simulatorS: round(worker.simulator, 2),
      runnerS: round(worker.runner, 2),
      machineBusyS: round(machineBusy, 2),
      /** CPU seconds the machine spent on processes outside the benchmark (other users' work). */
      otherS: round(machineBusy - stackCpu, 2),
      otherShareOfMachine: round((machineBusy - stackCpu) / (phaseS * CORES), 3),
    },
    timeline: {
      bucketS: 0.5,
      completionsPerS: perSecond(run.t0, closes, 500).map((v) => round(v)),
      startsPerS: perSecond(
        run.t0,
        run.executions.map((e) => e.startMs),
        500,
      ).map((v) => round(v)),
      workerRssMb: rssPoints.map(([t, v]) => [round(t, 2), round(v)]),
      dbtRuns: runs.map((r) => [
        round((r.startedMs - run.t0) / 1000, 2),
        round((r.finishedMs - run.t0) / 1000, 2),
      ]),
    },
    raw: {
      e2eMs: ex.map((e) => e.closeMs - e.startMs),
      overheadMs: hist.map((h) => h.overheadMs),
    },
  };
}

export function analyseRaw(raw: RawResult, latencyMs: number) {
  const thr = rates(raw.t0, raw.ends);
  return {
    n: raw.n,
    makespanS: round(raw.makespanMs / 1000, 2),
    executionsPerS: { sustained: round(thr.sustained), overall: round(thr.overall) },
    e2eMs: r1(summarize(raw.e2eMs)),
    apiMs: r1(summarize(raw.apiMs)),
    overheadMs: r1(summarize(raw.e2eMs.map((e, i) => e - (raw.apiMs[i] ?? 0)))),
    overheadVsNominalLatencyMs: r1(summarize(raw.e2eMs.map((e) => e - 3 * latencyMs))),
    completionsPerS: perSecond(raw.t0, raw.ends, 500).map((v) => round(v)),
  };
}

export function analyseBlocking(b: BlockingResult, n: number) {
  const perExec = mean(b.perExecutionMs);
  return {
    n: b.n,
    extrapolated: true,
    perExecutionMs: r1(summarize(b.perExecutionMs)),
    meanApiMs: round(mean(b.apiMs)),
    meanInsertMs: round(mean(b.insertMs)),
    meanDbtMs: round(mean(b.dbtMs)),
    dbtFailures: b.dbtFailures,
    executionsPerS: round(1000 / perExec, 3),
    /** Time the blocking executor would need for the measured run's N, extrapolated from its mean. */
    extrapolatedSecondsForN: round((perExec * n) / 1000),
    dbtInvocationsForN: n,
  };
}

export type Analysis = ReturnType<typeof analyse>;
export type RawAnalysis = ReturnType<typeof analyseRaw>;
export type BlockingAnalysis = ReturnType<typeof analyseBlocking>;

export function ratios(a: Analysis, raw: RawAnalysis | null, blk: BlockingAnalysis | null) {
  return {
    /** Executions per second over the whole run (N / makespan), Temporal vs the raw loop. */
    throughputVsRaw: raw ? round(a.executionsPerS.overall / raw.executionsPerS.overall, 4) : null,
    /** Temporal's sustained rate vs the blocking executor's (extrapolated) rate. */
    throughputVsBlocking: blk ? round(a.executionsPerS.sustained / blk.executionsPerS, 1) : null,
    /** One execution alone: blocking executor's time (incl. its dbt run) / Temporal's end-to-end. */
    blockingVsTemporalOneExecution: blk ? round(blk.perExecutionMs.p50 / a.isolated.e2eMs.p50, 1) : null,
    /** Time for all N: blocking (extrapolated) / Temporal (measured). */
    makespanBlockingVsTemporal: blk ? round(blk.extrapolatedSecondsForN / a.makespanS, 1) : null,
    dbtInvocationsBlockingVsTemporal: blk
      ? round(blk.dbtInvocationsForN / Math.max(1, a.dbt.invocations), 1)
      : null,
  };
}

export type Ratios = ReturnType<typeof ratios>;
