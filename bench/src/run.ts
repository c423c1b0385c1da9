/**
 * `make bench`: throughput, orchestration overhead and freshness of the policy execution workflow on
 * its own local stack, against two references on the same simulator (see bench/PERFORMANCE.md).
 *
 * Writes bench/results/latest.json (every figure), latest.svg (chart) and latest.md (table).
 */
import './env';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { withDuckDb } from '../../src/warehouse/duckdb/connection';
import { renderChart } from './chart';
import { CORES, loadBenchConfig, type BenchConfig } from './config';
import { summarizeProfile, type ProfileSummary } from './profile';
import { runOrchestrated, type OrchestratedResult } from './orchestrated';
import { loadAverage, Sampler, type ProcSample } from './proc';
import { runBlocking, runRaw, type BlockingResult, type RawResult } from './references';
import { readWorkerStats, startStack, type Stack } from './stack';
import { perSecond, rates, round, summarize, type Summary } from './stats';

interface RefreshLogRow {
  refreshId: string;
  startedMs: number;
  finishedMs: number;
  success: boolean;
  durationMs: number;
  requests: number;
  modelRows: number | null;
}

const log = (msg: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);

function versions(cfg: BenchConfig) {
  const pkg = (name: string) => {
    try {
      const file = path.join(cfg.repoRoot, 'node_modules', name, 'package.json');
      return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
    } catch {
      return null;
    }
  };
  const cmd = (bin: string, args: string[]) => {
    try {
      return execFileSync(bin, args, {
        encoding: 'utf8',
        cwd: cfg.repoRoot,
        stdio: ['ignore', 'pipe', 'ignore'],
      });
    } catch {
      return '';
    }
  };
  const dbt = cmd(process.env.DBT_BIN || path.join(cfg.repoRoot, '.venv', 'bin', 'dbt'), ['--version']);
  return {
    node: process.version,
    temporalCli: cmd(process.env.TEMPORAL_BIN ?? 'temporal', ['--version']).trim() || null,
    temporalSdk: pkg('@temporalio/worker'),
    duckdbNode: pkg('@duckdb/node-api'),
    undici: pkg('undici'),
    dbtCore: /installed:\s*(\S+)/.exec(dbt)?.[1] ?? null,
    dbtDuckdb: /duckdb:\s*(\S+)/.exec(dbt)?.[1] ?? null,
    gitCommit: cmd('git', ['rev-parse', '--short', 'HEAD']).trim() || null,
    gitDirtyFiles: cmd('git', ['status', '--porcelain']).split('\n').filter(Boolean).length,
  };
}

async function readWarehouse(stack: Stack, prefix: string) {
  return withDuckDb(
    stack.warehousePath,
    async (c) => {
      const hasModel = await c.runAndReadAll(
        `SELECT count(*) FROM information_schema.tables WHERE table_name = 'policy_execution_model'`,
      );
      const model =
        Number(hasModel.getRows()[0]?.[0] ?? 0) === 0
          ? null
          : await c.runAndReadAll(
              `SELECT count(*) FROM policy_execution_model WHERE execution_id LIKE ?::VARCHAR AND status = 'completed'`,
              [`${prefix}%`],
            );
      const state = await c.runAndReadAll(
        `SELECT count(*) FROM policy_execution_state WHERE execution_id LIKE ?::VARCHAR AND status = 'completed'`,
        [`${prefix}%`],
      );
      const refresh = await c.runAndReadAll(
        `SELECT refresh_id, epoch_ms(started_at), epoch_ms(finished_at), success, duration_ms, requests, model_rows
           FROM policy_model_refresh_log ORDER BY started_at`,
      );
      return {
        modelCompleted: Number(model?.getRows()[0]?.[0] ?? 0),
        stateCompleted: Number(state.getRows()[0]?.[0] ?? 0),
        refreshLog: refresh.getRows().map(
          (r): RefreshLogRow => ({
            refreshId: String(r[0]),
            startedMs: Number(r[1]),
            finishedMs: Number(r[2]),
            success: r[3] === true,
            durationMs: Number(r[4]),
            requests: Number(r[5]),
            modelRows: r[6] === null ? null : Number(r[6]),
          }),
        ),
      };
    },
    { readOnly: true, transaction: false },
  );
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

function analyse(
  cfg: BenchConfig,
  stack: Stack,
  run: OrchestratedResult,
  sampler: Sampler,
  wh: Awaited<ReturnType<typeof readWarehouse>>,
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

function analyseRaw(raw: RawResult, latencyMs: number) {
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

function analyseBlocking(b: BlockingResult, n: number) {
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

type Analysis = ReturnType<typeof analyse>;

function table(
  cfg: BenchConfig,
  a: Analysis,
  raw: ReturnType<typeof analyseRaw> | null,
  blk: ReturnType<typeof analyseBlocking> | null,
  load: { start: number[]; end: number[] },
) {
  const ok = (b: boolean) => (b ? 'yes' : '**no**');
  const lines = [
    `| figure | Temporal (this project) | raw limit: plain async loop | blocking executor (guide's shape) | target (2 cores) | met |`,
    `|---|---|---|---|---|---|`,
    `| executions/s sustained | ${a.executionsPerS.sustained} (overall ${a.executionsPerS.overall}) | ${raw ? `overall ${raw.executionsPerS.overall} (all ${raw.n} at once, done in ${raw.makespanS} s)` : 'n/a'} | ${blk ? `${blk.executionsPerS} (extrapolated from ${blk.n})` : 'n/a'} | >= 100 | ${ok(a.executionsPerS.sustained >= 100)} |`,
    `| end-to-end per execution p50 / p95 / p99 (ms) | ${a.e2eMs.p50} / ${a.e2eMs.p95} / ${a.e2eMs.p99} | ${raw ? `${raw.e2eMs.p50} / ${raw.e2eMs.p95} / ${raw.e2eMs.p99}` : 'n/a'} | ${blk ? `${blk.perExecutionMs.p50} / ${blk.perExecutionMs.p95} / ${blk.perExecutionMs.p99}` : 'n/a'} | | |`,
    `| time inside the 3 API calls p50 (ms) | ${a.apiMs.p50} | ${raw ? raw.apiMs.p50 : 'n/a'} | ${blk ? blk.meanApiMs : 'n/a'} (mean) | | |`,
    `| orchestration overhead p50 / p95 / p99 (ms) | ${a.overheadMs.p50} / ${a.overheadMs.p95} / ${a.overheadMs.p99} | ${raw ? `${raw.overheadMs.p50} / ${raw.overheadMs.p95} / ${raw.overheadMs.p99}` : 'n/a'} | ${blk ? `${round(blk.perExecutionMs.p50 - blk.meanApiMs)} (p50, insert + dbt)` : 'n/a'} | p95 <= 100 | ${ok(a.overheadMs.p95 <= 100)} |`,
    `| one execution alone (n=${a.isolated.n}): end-to-end p50; overhead p50 / p95 / p99 (ms) | ${a.isolated.e2eMs.p50}; ${a.isolated.overheadMs.p50} / ${a.isolated.overheadMs.p95} / ${a.isolated.overheadMs.p99} | - | ${blk ? `${blk.perExecutionMs.p50}; ${round(blk.perExecutionMs.p50 - blk.meanApiMs)}` : 'n/a'} | | |`,
    `| state writes/s; per execution | ${a.stateWrites.perSecond}; ${a.stateWrites.perExecution} | - | ${blk ? `${round(1000 / blk.perExecutionMs.mean, 2)}; 1` : 'n/a'} | | |`,
    `| rows per warehouse statement (opens) | ${a.stateWrites.warehouse.rowsPerStatement} (${a.stateWrites.warehouse.opens ?? '?'} opens, ${a.stateWrites.warehouse.statements ?? '?'} statements) | - | 1 | | |`,
    `| dbt invocations; per dbt-run duration | ${a.dbt.invocations} (mean ${a.dbt.meanDurationS} s); ${a.dbt.invocationsPerRunDuration} | - | ${blk ? `${blk.dbtInvocationsForN} (one per execution, ${round(blk.meanDbtMs / 1000, 2)} s each)` : 'n/a'} | <= 1 | ${ok(a.dbt.invocationsPerRunDuration <= 1)} |`,
    `| lag last completion -> model shows it (s) | ${a.dbt.lagS} | - | ${blk ? `${round(blk.meanDbtMs / 1000, 2)} (dbt inline)` : 'n/a'} | | |`,
    `| worker peak RSS (MB); peak in flight | ${a.worker.peakRssMb}; ${a.peakInFlight} | - | - | <= 300 | ${ok(a.worker.peakRssMb <= 300)} |`,
    `| worker CPU s per 1000 executions | ${a.worker.cpuSPer1000} | - | - | | |`,
    `| dev server CPU: s; share of stack; of machine | ${a.cpu.devServerS}; ${round(a.cpu.devServerShareOfStack * 100)} %; ${round(a.cpu.devServerShareOfMachine * 100)} % | - | - | | |`,
  ];
  const header = [
    ...(a.timedOut
      ? [
          `**Only ${a.executions} of ${cfg.n} executions finished within BENCH_TIMEOUT_MS; figures cover those.**`,
        ]
      : []),
    `N=${cfg.n} (warm-up ${cfg.warmup}), simulator latency ${cfg.latencyMs} ms per call, ready on the first poll, poll delay 0; ` +
      `${CORES} cores; load average ${load.start.join(' ')} at start, ${load.end.join(' ')} at end; ` +
      `CPU used by other processes during the run: ${round(a.cpu.otherShareOfMachine * 100)} % of the machine.`,
  ];
  return [...header, '', ...lines].join('\n');
}

function ratios(
  a: Analysis,
  raw: ReturnType<typeof analyseRaw> | null,
  blk: ReturnType<typeof analyseBlocking> | null,
) {
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

function writeResults(
  cfg: BenchConfig,
  result: Record<string, unknown>,
  svg: string,
  md: string,
  profileFiles: string[],
) {
  fs.mkdirSync(cfg.resultsDir, { recursive: true });
  if (!cfg.keep) {
    for (const f of fs.readdirSync(cfg.resultsDir)) {
      if (f !== '.gitkeep') fs.rmSync(path.join(cfg.resultsDir, f), { recursive: true, force: true });
    }
  }
  const stamp = `${new Date().toISOString().replace(/[:.]/g, '-')}-n${cfg.n}`;
  const json = `${JSON.stringify(result, null, 2)}\n`;
  for (const base of ['latest', `run-${stamp}`]) {
    fs.writeFileSync(path.join(cfg.resultsDir, `${base}.json`), json);
    fs.writeFileSync(path.join(cfg.resultsDir, `${base}.svg`), svg);
    fs.writeFileSync(path.join(cfg.resultsDir, `${base}.md`), `${md}\n`);
  }
  profileFiles.forEach((f, i) =>
    fs.copyFileSync(f, path.join(cfg.resultsDir, `run-${stamp}-thread${i}.cpuprofile`)),
  );
  if (cfg.publish) {
    const docs = path.join(cfg.repoRoot, 'docs');
    fs.mkdirSync(docs, { recursive: true });
    fs.writeFileSync(path.join(docs, 'bench-latest.svg'), svg);
  }
}

async function main(): Promise<void> {
  const cfg = loadBenchConfig();
  const startedAt = new Date();
  const loadStart = loadAverage();
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'policy-bench-'));
  const tag = path
    .basename(tmpDir)
    .replace(/^policy-bench-/, '')
    .toLowerCase();
  log(
    `N=${cfg.n} latency=${cfg.latencyMs} ms, ${CORES} cores, load ${loadStart.join(' ')}; temp dir ${tmpDir}`,
  );

  let stack: Stack | null = null;
  let connection: Connection | null = null;
  const cleanup = async () => {
    await connection?.close().catch(() => undefined);
    await stack?.stop();
  };
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    log(`${sig}: stopping the benchmark's processes`);
    void cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    stack = await startStack(cfg, tmpDir, tag);
    log(
      `stack up: temporal ${stack.temporal.address} (pid ${stack.temporal.process.pid}), simulator pid ${stack.simulator.pid}, worker pid ${stack.worker.pid}`,
    );
    connection = await Connection.connect({ address: stack.temporal.address });
    const client = new Client({ connection, namespace: 'default' });
    const sampler = new Sampler({
      worker: stack.worker.pid,
      temporal: stack.temporal.process.pid ?? 0,
      simulator: stack.simulator.pid,
      runner: process.pid,
    });

    log(`warm-up ${cfg.warmup}, then ${cfg.n} executions`);
    const run = await runOrchestrated(client, stack, cfg, { beforeMeasured: () => sampler.start(250) });
    sampler.stop();
    log(
      `all closed after ${((run.allClosedObservedAt - run.t0) / 1000).toFixed(1)} s; model fresh ` +
        (run.modelFreshObservedAt
          ? `after ${((run.modelFreshObservedAt - run.t0) / 1000).toFixed(1)} s`
          : 'NOT observed'),
    );
    await connection.close();
    connection = null;
    await stack.stopWorker();
    const workerStats = readWorkerStats(stack.workerStatsFile);
    // One profile per thread: the main thread and the workflow thread(s).
    const workerProfile: ProfileSummary[] = [];
    const profileFiles: string[] = [];
    if (cfg.profile && fs.existsSync(stack.profileDir)) {
      for (const file of fs
        .readdirSync(stack.profileDir)
        .filter((f) => f.endsWith('.cpuprofile'))
        .sort()) {
        profileFiles.push(path.join(stack.profileDir, file));
        const summary = summarizeProfile(path.join(stack.profileDir, file));
        workerProfile.push(summary);
        log(
          `worker CPU profile ${file} (${summary.totalS} s): ` +
            summary.byArea.map((a) => `${a.area} ${Math.round(a.share * 100)}%`).join(', '),
        );
      }
    }
    const wh = await readWarehouse(stack, `bench-${tag}-m-`);
    const a = analyse(cfg, stack, run, sampler, wh, workerStats);

    let raw: RawResult | null = null;
    let blocking: BlockingResult | null = null;
    if (cfg.references) {
      log(`reference 1: raw limit, ${cfg.n} executions by a plain async loop`);
      raw = await runRaw(cfg, stack.simulatorUrl, tag);
      log(`reference 2: blocking executor, ${cfg.baselineN} executions (one dbt run each)`);
      blocking = await runBlocking(cfg, stack.simulatorUrl, tag, tmpDir);
    }
    await stack.stop();
    stack = null;

    const rawA = raw ? analyseRaw(raw, cfg.latencyMs) : null;
    const blkA = blocking ? analyseBlocking(blocking, cfg.n) : null;
    const loadEnd = loadAverage();
    const md = table(cfg, a, rawA, blkA, { start: loadStart, end: loadEnd });
    const rat = ratios(a, rawA, blkA);
    const { raw: rawValues, timeline, ...temporal } = a;
    const result = {
      schema: 1,
      label: cfg.label,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      durationS: round((Date.now() - startedAt.getTime()) / 1000),
      machine: {
        cores: CORES,
        cpuModel: os.cpus()[0]?.model ?? null,
        memoryMb: Math.round(os.totalmem() / 2 ** 20),
        loadAverageStart: loadStart,
        loadAverageEnd: loadEnd,
        note: 'shared machine: see temporal.cpu.otherShareOfMachine for CPU used by processes outside the benchmark',
      },
      versions: versions(cfg),
      config: {
        n: cfg.n,
        warmup: cfg.warmup,
        latencyMs: cfg.latencyMs,
        startConcurrency: cfg.startConcurrency,
        baselineN: cfg.baselineN,
        isolatedN: cfg.isolatedN,
        historySample: cfg.historySample,
        devServerSqlitePragmas: cfg.sqlitePragmas,
        pollIntervalMs: 0,
        readyOnFirstPoll: true,
        workerTuning: a.worker.tuning,
      },
      temporal,
      rawLimit: rawA,
      blocking: blkA,
      ratios: rat,
      workerProfile,
      targets: {
        executionsPerS: {
          target: 100,
          value: a.executionsPerS.sustained,
          met: a.executionsPerS.sustained >= 100,
        },
        overheadP95Ms: { target: 100, value: a.overheadMs.p95, met: a.overheadMs.p95 <= 100 },
        workerPeakRssMb: {
          target: 300,
          value: a.worker.peakRssMb,
          inFlight: a.peakInFlight,
          met: a.worker.peakRssMb <= 300,
        },
        dbtInvocationsPerRunDuration: {
          target: 1,
          value: a.dbt.invocationsPerRunDuration,
          met: a.dbt.invocationsPerRunDuration <= 1,
        },
      },
      timeline,
    };
    const svg = renderChart({
      title: `policyExecution benchmark: N=${cfg.n} at once, ${cfg.latencyMs} ms per API call, ${CORES} cores`,
      subtitle: [
        `Temporal ${a.executionsPerS.sustained} executions/s sustained; raw loop ${rawA?.executionsPerS.overall ?? 'n/a'}/s; ` +
          `blocking executor ${blkA?.executionsPerS ?? 'n/a'}/s. Worker peak RSS ${a.worker.peakRssMb} MB.`,
        `Load average ${loadStart[0]} -> ${loadEnd[0]} (shared machine; ${round(a.cpu.otherShareOfMachine * 100)} % of its CPU used by ` +
          `other work). ${startedAt.toISOString().slice(0, 16)}Z, ${result.versions.gitCommit ?? ''}.`,
      ],
      latency: [
        { label: 'Temporal, N at once: end-to-end', color: '#1f77b4', values: rawValues.e2eMs },
        {
          label: 'Temporal, N at once: overhead (e2e - API time)',
          color: '#d62728',
          values: rawValues.overheadMs,
        },
        {
          label: 'Temporal, one at a time: overhead',
          color: '#ff9896',
          dashed: true,
          values: run.isolated.map((h) => h.overheadMs),
        },
        ...(raw
          ? [{ label: 'raw loop, N at once: end-to-end', color: '#7f7f7f', dashed: true, values: raw.e2eMs }]
          : []),
        ...(blocking
          ? [{ label: 'blocking executor: per execution', color: '#8c564b', values: blocking.perExecutionMs }]
          : []),
      ],
      throughput: {
        bucketS: 0.5,
        series: [
          { label: 'Temporal: completions/s', color: '#1f77b4', values: timeline.completionsPerS },
          { label: 'Temporal: starts/s', color: '#2ca02c', dashed: true, values: timeline.startsPerS },
        ],
      },
      rss: {
        points: timeline.workerRssMb as [number, number][],
        color: '#9467bd',
        label: 'worker RSS (MB, right axis)',
      },
      dbtRuns: timeline.dbtRuns as [number, number][],
    });
    writeResults(cfg, result, svg, md, profileFiles);

    console.log(`\n${md}\n`);
    console.log(
      `ratios: throughput (overall) ${rat.throughputVsRaw ?? 'n/a'}x the raw limit; ` +
        `${rat.throughputVsBlocking ?? 'n/a'}x the blocking executor (sustained vs extrapolated); ` +
        `time for all ${cfg.n}: blocking ${rat.makespanBlockingVsTemporal ?? 'n/a'}x Temporal's; ` +
        `one execution alone: blocking ${rat.blockingVsTemporalOneExecution ?? 'n/a'}x Temporal's end-to-end; ` +
        `dbt runs: blocking ${blkA?.dbtInvocationsForN ?? 'n/a'} vs ${a.dbt.invocations}`,
    );
    console.log(
      `results: ${path.relative(cfg.repoRoot, path.join(cfg.resultsDir, 'latest.json'))}, latest.svg, latest.md`,
    );
    if (a.timedOut || a.failed > 0 || a.dbt.modelRowsCompleted < cfg.n) {
      console.error(
        `WARNING: ${a.executions} of ${cfg.n} finished${a.timedOut ? ' before the timeout' : ''}, ${a.failed} failed; ` +
          `the model shows ${a.dbt.modelRowsCompleted} of ${cfg.n}`,
      );
      process.exitCode = 1;
    }
    if (process.env.BENCH_KEEP_TMP === '1') log(`temp dir kept: ${tmpDir}`);
    else fs.rmSync(tmpDir, { recursive: true, force: true });
  } catch (err) {
    console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    console.error(`logs kept in ${tmpDir}`);
    process.exitCode = 1;
  } finally {
    await cleanup();
  }
}

void main();
