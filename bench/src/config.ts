/** Benchmark settings, all from the environment (docs/configuration.md, "Benchmark"). */
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './env';
import { devServerDynamicConfig } from '../../devtools/temporal/dev-server';

/**
 * What a run can do (BENCH_ONLY picks some, comma-separated; default all):
 *  - ours: the project, N at once, then one at a time, and the model refresh;
 *  - floor: the same for temporalFloor and temporalFloorLocal (plain Temporal, bench/floor);
 *  - guide: the guide shape (3 polls 2 s apart, ready on the third), the project and its floor;
 *  - raw, blocking: the plain async loop and the blocking executor (references.ts).
 */
export const BENCH_PARTS = ['ours', 'floor', 'guide', 'raw', 'blocking'] as const;
export type BenchPart = (typeof BENCH_PARTS)[number];

export interface BenchConfig {
  /** Measured executions (BENCH_N). */
  n: number;
  /** Warm-up executions before the measured ones, not counted (BENCH_WARMUP). */
  warmup: number;
  /** Simulator latency per API request, ms (BENCH_LATENCY_MS). */
  latencyMs: number;
  /** Start requests in flight at once while starting the N executions (BENCH_START_CONCURRENCY). */
  startConcurrency: number;
  /** Executions run one at a time after the burst, for the overhead without queueing (BENCH_ISOLATED_N). */
  isolatedN: number;
  /** Executions run by the blocking reference, extrapolated per execution (BENCH_BASELINE_N). */
  baselineN: number;
  /**
   * Run the references: the floors (also the guide shape's), the raw limit and the blocking executor
   * (BENCH_REFERENCES=0 skips them all: for quick iterations only).
   */
  references: boolean;
  /** Parts of the run (BENCH_ONLY); references among them run only with `references`. */
  parts: ReadonlySet<BenchPart>;
  /** Executions of the guide shape, started at once (BENCH_GUIDE_N). */
  guideN: number;
  /** Histories downloaded to split end-to-end time into API time and overhead (BENCH_HISTORY_SAMPLE). */
  historySample: number;
  /** Keep earlier results in bench/results (BENCH_KEEP=1). */
  keep: boolean;
  /** Also copy the chart to docs/bench-latest.svg (BENCH_PUBLISH=1). */
  publish: boolean;
  /**
   * SQLite pragmas for the benchmark's dev server (BENCH_SQLITE_PRAGMAS, comma-separated; empty = the
   * dev server's defaults). Default WAL + synchronous=normal: about 3x the workflow starts per second
   * of the default rollback journal on the same file.
   */
  sqlitePragmas: string[];
  /**
   * Dynamic config values of the benchmark's dev server (BENCH_DYNAMIC_CONFIG, comma-separated
   * KEY=VALUE; empty = none). Default: the project's, devtools/temporal/dynamic-config.txt.
   */
  dynamicConfig: string[];
  /**
   * The floors' activities make the HTTP calls and write the state rows instead of only waiting
   * (BENCH_FLOOR_IO=1; bench/floor/activities.ts): what the guide's I/O costs on top of Temporal,
   * apart from the rest of the project. The targets stay defined against the plain floor.
   */
  floorIo: boolean;
  /** Run the worker under `node --cpu-prof` and summarise where its CPU goes (BENCH_PROFILE=1). */
  profile: boolean;
  /**
   * Measure temporalFloor and the guide shape's floor before the project's part too, and compare
   * with the mean of both runs (BENCH_BRACKET, default 1; bench/src/bracket.ts). Not with
   * BENCH_PROFILE, whose floor profile is one run's.
   */
  bracket: boolean;
  /** Free-text label stored with the results (BENCH_LABEL). */
  label: string;
  /**
   * The warehouse the project's worker writes (BENCH_WAREHOUSE): `duckdb` (the default, a DuckDB
   * file) or `snowflake` (the Snowflake emulator, devtools/snowflake-emulator, started by the bench;
   * results in latest-snowflake.*, beside DuckDB's latest.*).
   */
  warehouse: BenchWarehouse;
  /** Longest wait for all executions, then for the model refresh. */
  runTimeoutMs: number;
  repoRoot: string;
  /** Where the benchmark's own build of src/ lives (compiled by `make bench`). */
  buildDir: string;
  resultsDir: string;
}

export type BenchWarehouse = 'duckdb' | 'snowflake';

function warehouse(): BenchWarehouse {
  const raw = (process.env.BENCH_WAREHOUSE ?? 'duckdb').trim().toLowerCase() || 'duckdb';
  if (raw !== 'duckdb' && raw !== 'snowflake')
    throw new Error(`BENCH_WAREHOUSE must be 'duckdb' or 'snowflake', got '${raw}'`);
  return raw;
}

/** The results' base name: latest.* for DuckDB, latest-snowflake.* for Snowflake. */
export function resultsSuffix(cfg: Pick<BenchConfig, 'warehouse'>): string {
  return cfg.warehouse === 'duckdb' ? '' : `-${cfg.warehouse}`;
}

/** An environment whole number >= `min`, or `fallback` when unset. */
export function int(name: string, fallback: number, min = 0): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min)
    throw new Error(`${name} must be a whole number >= ${min}, got '${raw}'`);
  return v;
}

function flag(name: string, fallback: boolean): boolean {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  return raw === '1' || raw.toLowerCase() === 'true' || raw.toLowerCase() === 'yes';
}

function parts(): Set<BenchPart> {
  const raw = process.env.BENCH_ONLY?.trim();
  if (!raw) return new Set(BENCH_PARTS);
  const picked = raw.split(',').map((p) => p.trim().toLowerCase());
  for (const p of picked)
    if (!(BENCH_PARTS as readonly string[]).includes(p))
      throw new Error(`BENCH_ONLY: unknown part '${p}' (parts: ${BENCH_PARTS.join(', ')})`);
  return new Set(picked as BenchPart[]);
}

/** Whether a run does `part`: picked by BENCH_ONLY and, for the references, not BENCH_REFERENCES=0. */
export function runs(cfg: BenchConfig, part: BenchPart | 'guideFloor'): boolean {
  if (part === 'guideFloor') return cfg.references && cfg.parts.has('guide');
  const reference = part === 'floor' || part === 'raw' || part === 'blocking';
  return cfg.parts.has(part) && (cfg.references || !reference);
}

export function loadBenchConfig(): BenchConfig {
  const n = int('BENCH_N', 1000, 1);
  return {
    n,
    warmup: int('BENCH_WARMUP', 50),
    latencyMs: int('BENCH_LATENCY_MS', 20),
    startConcurrency: int('BENCH_START_CONCURRENCY', 50, 1),
    baselineN: int('BENCH_BASELINE_N', 10, 1),
    isolatedN: int('BENCH_ISOLATED_N', 20),
    references: flag('BENCH_REFERENCES', true),
    parts: parts(),
    guideN: int('BENCH_GUIDE_N', 500, 1),
    historySample: int('BENCH_HISTORY_SAMPLE', 2000, 1),
    keep: flag('BENCH_KEEP', false),
    publish: flag('BENCH_PUBLISH', false),
    profile: flag('BENCH_PROFILE', false),
    floorIo: flag('BENCH_FLOOR_IO', false),
    bracket: flag('BENCH_BRACKET', true) && !flag('BENCH_PROFILE', false),
    sqlitePragmas: (process.env.BENCH_SQLITE_PRAGMAS ?? 'journal_mode=wal,synchronous=normal')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean),
    dynamicConfig:
      process.env.BENCH_DYNAMIC_CONFIG === undefined
        ? devServerDynamicConfig()
        : process.env.BENCH_DYNAMIC_CONFIG.split(',')
            .map((v) => v.trim())
            .filter(Boolean),
    label: process.env.BENCH_LABEL ?? '',
    warehouse: warehouse(),
    runTimeoutMs: int('BENCH_TIMEOUT_MS', Math.max(300_000, n * 100), 1),
    repoRoot: REPO_ROOT,
    buildDir: path.resolve(__dirname, '..', '..'),
    resultsDir: path.join(REPO_ROOT, 'bench', 'results'),
  };
}

export const CORES = os.cpus().length;
