/**
 * The benchmark's report: the figures as bench/results/latest.json (with the machine, the versions
 * and the settings they were measured with), the markdown tables (latest.md, table.ts), the chart
 * (latest.svg, chart.ts) and the summary printed at the end of `make bench`.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ReferenceAnalysis } from './analyse-burst';
import { chartInput } from './chart-input';
import { renderChart } from './chart';
import { CORES, resultsSuffix, type BenchConfig } from './config';
import { GUIDE_SHAPE } from './guide';
import { round } from './stats';
import { table } from './table';
import type { ReportInput } from './report-input';

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

export interface Report {
  /** latest.json */
  result: Record<string, unknown>;
  /** latest.md */
  md: string;
  /** latest.svg */
  svg: string;
}

/** A burst's figures for latest.json: the per-execution values stay out, the completions per second stay. */
function figures(b: ReferenceAnalysis | null) {
  if (!b) return null;
  const { values, ...rest } = b;
  return { ...rest, completionsPerS: values.completionsPerS };
}

export function buildReport(input: ReportInput): Report {
  const { cfg, startedAt, analysis: a } = input;
  const md = table(input);
  const temporal = a ? (({ values: _values, timeline: _timeline, ...rest }) => rest)(a) : null;
  const version = versions(cfg);
  const result = {
    schema: 2,
    label: cfg.label,
    /** The warehouse the project's worker wrote (BENCH_WAREHOUSE): `duckdb` or `snowflake`, and what it was. */
    warehouse: { kind: cfg.warehouse, label: input.warehouseLabel },
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    durationS: round((Date.now() - startedAt.getTime()) / 1000),
    machine: {
      cores: CORES,
      cpuModel: os.cpus()[0]?.model ?? null,
      memoryMb: Math.round(os.totalmem() / 2 ** 20),
      loadAverageStart: input.load.start,
      loadAverageEnd: input.load.end,
      note: 'shared machine: see temporal.cpu.otherShareOfMachine for CPU used by processes outside the benchmark',
    },
    versions: version,
    config: {
      n: cfg.n,
      warmup: cfg.warmup,
      latencyMs: cfg.latencyMs,
      startConcurrency: cfg.startConcurrency,
      baselineN: cfg.baselineN,
      isolatedN: cfg.isolatedN,
      historySample: cfg.historySample,
      devServerSqlitePragmas: cfg.sqlitePragmas,
      devServerDynamicConfig: cfg.dynamicConfig,
      pollIntervalMs: 0,
      readyOnFirstPoll: true,
      guideN: cfg.guideN,
      guideShape: GUIDE_SHAPE,
      parts: [...cfg.parts],
      references: cfg.references,
      bracket: cfg.bracket,
      floorIo: cfg.floorIo,
      workerTuning: a?.worker.tuning ?? null,
    },
    temporal,
    references: {
      temporalFloor: figures(input.temporalFloor),
      temporalFloorLocal: figures(input.temporalFloorLocal),
      /** temporalFloor before and after the project's part; its figures above are their mean. */
      temporalFloorBracket: input.brackets.temporalFloor,
    },
    guideShape: {
      temporal: figures(input.guide.temporal),
      floor: figures(input.guide.floor),
      floorBracket: input.brackets.guideFloor,
    },
    rawLimit: input.rawLimit,
    blocking: input.blocking,
    ratios: input.ratios,
    targets: Object.fromEntries(input.targets.map(({ key, ...t }) => [key, t])),
    workerProfile: input.workerProfile,
    floorWorkerProfile: input.floorWorkerProfile,
    timeline: a?.timeline ?? null,
  };
  const svg = renderChart(chartInput(input, version.gitCommit));
  return { result, md, svg };
}

/**
 * Writes latest.{json,svg,md} and a dated copy of each (earlier results of the same warehouse go
 * unless BENCH_KEEP=1). Snowflake's are latest-snowflake.* (run-...-snowflake.*), beside DuckDB's.
 */
export function writeResults(
  cfg: BenchConfig,
  { result, svg, md }: Report,
  profileFiles: { ours: string[]; temporalFloor: string[] },
): void {
  fs.mkdirSync(cfg.resultsDir, { recursive: true });
  const suffix = resultsSuffix(cfg);
  const ours = (f: string) => (suffix ? f.includes(suffix) : !f.includes('-snowflake'));
  if (!cfg.keep) {
    for (const f of fs.readdirSync(cfg.resultsDir)) {
      if (f !== '.gitkeep' && ours(f))
        fs.rmSync(path.join(cfg.resultsDir, f), { recursive: true, force: true });
    }
  }
  const stamp = `${new Date().toISOString().replace(/[:.]/g, '-')}-n${cfg.n}`;
  const json = `${JSON.stringify(result, null, 2)}\n`;
  for (const base of [`latest${suffix}`, `run-${stamp}${suffix}`]) {
    fs.writeFileSync(path.join(cfg.resultsDir, `${base}.json`), json);
    fs.writeFileSync(path.join(cfg.resultsDir, `${base}.svg`), svg);
    fs.writeFileSync(path.join(cfg.resultsDir, `${base}.md`), `${md}\n`);
  }
  for (const [worker, files] of [
    ['', profileFiles.ours],
    ['-floor', profileFiles.temporalFloor],
  ] as const)
    files.forEach((f, i) =>
      fs.copyFileSync(f, path.join(cfg.resultsDir, `run-${stamp}${worker}-thread${i}.cpuprofile`)),
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
  const x = (v: number | null) => (v === null ? 'n/a' : `${v}x`);
  console.log(`\n${md}\n`);
  console.log(
    `ratios: throughput (overall) ${x(rat.throughputVsRaw)} the raw limit; ` +
      `${x(rat.throughputVsBlocking)} the blocking executor (sustained vs extrapolated); ` +
      `time for all ${cfg.n}: blocking ${x(rat.makespanBlockingVsTemporal)} the project's; ` +
      `one execution alone: blocking ${x(rat.blockingVsTemporalOneExecution)} the project's end-to-end; ` +
      `dbt runs: blocking ${blkA?.dbtInvocationsForN ?? 'n/a'} vs ${a?.dbt.invocations ?? 'n/a'}`,
  );
  console.log(
    `results: ${path.relative(cfg.repoRoot, path.join(cfg.resultsDir, `latest${resultsSuffix(cfg)}.json`))}, .svg, .md`,
  );
}
