/** Benchmark settings, all from the environment (see bench/PERFORMANCE.md, "Reproduce"). */
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './env';

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
  /** Run the two references (BENCH_REFERENCES=0 skips them: for quick iterations only). */
  references: boolean;
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
  /** Run the worker under `node --cpu-prof` and summarise where its CPU goes (BENCH_PROFILE=1). */
  profile: boolean;
  /** Free-text label stored with the results (BENCH_LABEL). */
  label: string;
  /** Longest wait for all executions, then for the model refresh. */
  runTimeoutMs: number;
  repoRoot: string;
  /** Where the benchmark's own build of src/ lives (compiled by `make bench`). */
  buildDir: string;
  resultsDir: string;
}

function int(name: string, fallback: number, min = 0): number {
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
    historySample: int('BENCH_HISTORY_SAMPLE', 2000, 1),
    keep: flag('BENCH_KEEP', false),
    publish: flag('BENCH_PUBLISH', false),
    profile: flag('BENCH_PROFILE', false),
    sqlitePragmas: (process.env.BENCH_SQLITE_PRAGMAS ?? 'journal_mode=wal,synchronous=normal')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean),
    label: process.env.BENCH_LABEL ?? '',
    runTimeoutMs: int('BENCH_TIMEOUT_MS', Math.max(300_000, n * 100), 1),
    repoRoot: REPO_ROOT,
    buildDir: path.resolve(__dirname, '..', '..'),
    resultsDir: path.join(REPO_ROOT, 'bench', 'results'),
  };
}

export const CORES = os.cpus().length;
