/**
 * The benchmark's report: the figures as bench/results/latest.json (with the machine, the versions
 * and the settings they were measured with), the markdown table (latest.md), the chart (latest.svg)
 * and the summary printed at the end of `make bench`.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Analysis, BlockingAnalysis, RawAnalysis, Ratios } from './analyse';
import { renderChart } from './chart';
import { CORES, type BenchConfig } from './config';
import type { ProfileSummary } from './profile';
import type { BlockingResult, RawResult } from './references';
import { round } from './stats';

type Load = { start: number[]; end: number[] };

/** What the figures were measured with: runtimes, libraries, dbt and the commit. */
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

/** The markdown table (latest.md): each figure beside the references and its target. */
function table(
  cfg: BenchConfig,
  a: Analysis,
  raw: RawAnalysis | null,
  blk: BlockingAnalysis | null,
  load: Load,
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

export interface ReportInput {
  cfg: BenchConfig;
  startedAt: Date;
  load: Load;
  analysis: Analysis;
  rawLimit: RawAnalysis | null;
  blocking: BlockingAnalysis | null;
  ratios: Ratios;
  workerProfile: ProfileSummary[];
  /** The per-execution timings the chart draws besides the analysis' own. */
  timings: {
    isolatedOverheadMs: number[];
    raw: RawResult | null;
    blocking: BlockingResult | null;
  };
}

export interface Report {
  /** latest.json */
  result: Record<string, unknown>;
  /** latest.md */
  md: string;
  /** latest.svg */
  svg: string;
}

export function buildReport(input: ReportInput): Report {
  const { cfg, startedAt, analysis: a, rawLimit: rawA, blocking: blkA, ratios: rat, workerProfile } = input;
  const { raw, blocking } = input.timings;
  const loadStart = input.load.start;
  const loadEnd = input.load.end;
  const md = table(cfg, a, rawA, blkA, input.load);
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
        values: input.timings.isolatedOverheadMs,
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
  return { result, md, svg };
}

/** Writes latest.{json,svg,md} and a dated copy of each (earlier results go unless BENCH_KEEP=1). */
export function writeResults(cfg: BenchConfig, { result, svg, md }: Report, profileFiles: string[]): void {
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

/** What `make bench` prints at the end: the table, the ratios and where the results are. */
export function printSummary(input: ReportInput, { md }: Report): void {
  const { cfg, analysis: a, blocking: blkA, ratios: rat } = input;
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
}
