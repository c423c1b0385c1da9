/**
 * The benchmark's analysis of the project's run and of the raw and blocking references: turns what
 * a run collected (execution timings, history samples, process samples, the warehouse's refresh log,
 * the references' timings) into the figures of latest.json (the burst figures every workflow gets
 * alike are in analyse-burst.ts). Pure: reads nothing and writes nothing.
 */
import { analyseBurst, mean, perExecution, r1 } from './analyse-burst';
import { CORES, type BenchConfig } from './config';
import type { HistoryFacts } from './history';
import type { OrchestratedResult } from './orchestrated';
import type { Sampler } from './proc';
import type { BlockingResult, RawResult } from './references';
import type { Stack } from './stack';
import { perSecond, rates, round, summarize } from './stats';

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

/**
 * The longest time the model went without a refresh while executions completed: between the first
 * completion, the end of every successful dbt run after it, and the end of the one that served the
 * last completion (or the last completion, when none did).
 */
export function maxRefreshGapMs(firstClose: number, lastClose: number, okRuns: RefreshLogRow[]): number {
  const points = [firstClose];
  for (const r of okRuns) {
    if (r.finishedMs <= firstClose) continue;
    points.push(r.finishedMs);
    if (r.finishedMs >= lastClose) break;
  }
  if ((points.at(-1) ?? 0) < lastClose) points.push(lastClose);
  return Math.max(0, ...points.slice(1).map((t, i) => t - (points[i] ?? t)));
}

/** Where an execution's time goes, as Temporal's history shows it (mean ms per execution). */
function profile(list: readonly HistoryFacts[]) {
  const m = (k: keyof HistoryFacts) => perExecution(list, k, 1);
  return {
    e2e: m('e2eMs'),
    api: m('apiMs'),
    workflowTaskQueue: m('wftQueueMs'),
    workflowTaskRunInclLocalActivities: m('wftRunMs'),
    activityQueue: m('activityQueueMs'),
    stateWriteActivities: m('stateWriteMs'),
    refreshAskActivity: m('refreshAskMs'),
  };
}

export function analyse(
  cfg: BenchConfig,
  stack: Stack,
  run: OrchestratedResult,
  sampler: Sampler,
  wh: WarehouseReadout,
  workerStats: Record<string, unknown> | null,
) {
  const burst = analyseBurst(run);
  const ex = run.executions.filter((e) => Number.isFinite(e.closeMs));
  const closes = ex.map((e) => e.closeMs);
  const lastClose = Math.max(...closes);
  const firstClose = Math.min(...closes);
  const hist = run.histories;
  const perExec = (k: keyof HistoryFacts) => perExecution(hist, k);

  const wstats = (workerStats?.warehouse ?? {}) as Record<string, number>;
  const stateWritesPerExec = mean(hist.map((h) => h.stateWrites));
  const phaseS = (lastClose - run.t0) / 1000;

  // dbt: the runs that served the measured executions (the warm-up asked for none; runs started
  // after this part ended served the guide shape's executions).
  const runs = wh.refreshLog.filter((r) => r.finishedMs >= run.t0 && r.startedMs < run.endedAt);
  const okRuns = runs.filter((r) => r.success);
  const lastOk = okRuns.at(-1);
  const meanDbtMs = mean(runs.map((r) => r.durationMs));
  const windowMs = (lastOk?.finishedMs ?? lastClose) - firstClose;

  const cpu = (name: string) => sampler.delta(name, run.t0, lastClose);
  const worker = {
    cpuS: cpu('worker'),
    temporal: cpu('temporal'),
    simulator: cpu('simulator'),
    runner: cpu('runner'),
  };
  const stackCpu = worker.cpuS + worker.temporal + worker.simulator + worker.runner;
  const machineBusy =
    (sampler.at(lastClose)?.machine.busyS ?? NaN) - (sampler.at(run.t0)?.machine.busyS ?? NaN);
  const samplesInPhase = sampler.samples.filter((s) => s.t >= run.t0);
  const rssPoints = samplesInPhase
    .map((s) => [(s.t - run.t0) / 1000, s.byName.worker?.rssMb ?? NaN] as [number, number])
    .filter((p) => Number.isFinite(p[1]));
  const peakRss = Math.max(...sampler.samples.map((s) => s.byName.worker?.peakRssMb ?? 0));
  const peakRssInPhase = Math.max(...samplesInPhase.map((s) => s.byName.worker?.rssMb ?? 0));

  return {
    ...burst,
    stateRowsCompleted: wh.stateCompleted,
    overheadVsNominalLatencyMs: r1(summarize(hist.map((h) => h.e2eMs - 3 * cfg.latencyMs))),
    isolated: { ...burst.isolated, profileMsPerExecution: profile(run.isolated) },
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
        /** Snowflake only: the state MERGEs' latency (the adapter's mergeMs over its statements), ms. */
        mergeMs:
          wstats.mergeMs === undefined
            ? null
            : {
                mean: round(wstats.mergeMs / (wstats.statements ?? NaN), 1),
                max: round(wstats.maxMergeMs ?? NaN, 1),
              },
        /** Snowflake only: sessions opened, dropped, retried after expiry. */
        sessions: wstats.sessions ?? null,
        rowsPerOpen: round((wstats.rowsWritten ?? NaN) / (wstats.opens ?? NaN), 1),
        note: 'whole worker process lifetime, warm-up and guide shape included; rowsWritten counts rows after coalescing',
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
      /** The longest the model went without a refresh while executions completed (maxRefreshGapMs). */
      maxGapS: round(maxRefreshGapMs(firstClose, lastClose, okRuns) / 1000, 2),
      /** DBT_REFRESH_MAX_WAIT_MS of the worker: the refresh promise the gap is held against. */
      maxWaitS: stack.refreshMaxWaitMs === null ? null : round(stack.refreshMaxWaitMs / 1000, 2),
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
      completionsPerS: burst.values.completionsPerS,
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
