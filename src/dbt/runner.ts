/**
 * Runs the dbt CLI as a subprocess for the worker (the dbtRefresh workflow's activity). dbt runs with
 * its own target/log paths so it never clobbers a user's `dbt/target`, with anonymous usage stats off,
 * and without the worker's secrets in its environment.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface DbtRunnerOptions {
  /** The dbt executable. Default: the repo's `.venv/bin/dbt` when present, else `dbt` on PATH. */
  dbtBin: string;
  /** The dbt project directory. */
  projectDir: string;
  /** Where profiles.yml is (DBT_PROFILES_DIR); default: the project directory. */
  profilesDir?: string;
  /** The DuckDB target's file: passed to dbt as WAREHOUSE_PATH (absolute). */
  warehousePath?: string;
  /** Variables the target reads (the Snowflake target: SNOWFLAKE_*), on top of this process's. */
  warehouseEnv?: Record<string, string>;
  /** dbt's --target-path / --log-path for the worker's runs. */
  targetPath: string;
  logPath: string;
  /** DBT_TARGET (profile output): the worker's warehouse unless DBT_TARGET says otherwise; `duckdb` by default. */
  target?: string;
  /** Kill dbt after this long. */
  timeoutMs: number;
}

export interface DbtRunResult {
  success: boolean;
  exitCode: number | null;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** Rows written, summed over the run's nodes, when the adapter reports it. */
  rowsAffected: number | null;
  /** Last part of dbt's output (stdout + stderr). */
  outputTail: string;
  /** Why it failed: the error lines of dbt's output, or the spawn / timeout error. */
  error: string | null;
}

const OUTPUT_TAIL_CHARS = 4000;
/** Environment variables never passed to dbt (the worker's API secrets). */
const SECRET_ENV = /TOKEN|SECRET|PASSWORD|API_KEY|PRIVATE_KEY/i;
/** Variables dbt needs even if they look secret (the Snowflake target reads them). */
const DBT_ENV = /^(SNOWFLAKE_|DBT_)/;

export function defaultDbtBin(repoRoot: string): string {
  const venv = path.join(repoRoot, '.venv', 'bin', 'dbt');
  return fs.existsSync(venv) ? venv : 'dbt';
}

export function dbtEnv(opts: DbtRunnerOptions, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) {
    if (v === undefined) continue;
    if (SECRET_ENV.test(k) && !DBT_ENV.test(k)) continue;
    env[k] = v;
  }
  return {
    ...env,
    ...opts.warehouseEnv,
    ...(opts.warehousePath === undefined ? {} : { WAREHOUSE_PATH: path.resolve(opts.warehousePath) }),
    DBT_PROFILES_DIR: opts.profilesDir ?? opts.projectDir,
    DBT_TARGET: opts.target ?? base.DBT_TARGET ?? 'duckdb',
    DBT_SEND_ANONYMOUS_USAGE_STATS: 'false',
    DO_NOT_TRACK: '1',
    // The worker's dbt runs happen under the warehouse lease the worker holds (Warehouse.withLease):
    // dbt's lease plugin (dbt/plugins/warehouse_lease.py) must not wait for it.
    POLICY_EXECUTION_WAREHOUSE_LEASE: 'held',
  };
}

/** `rows_affected` summed over run_results.json, or null when no node reports one. */
export function rowsAffectedFrom(targetPath: string): number | null {
  try {
    const raw = JSON.parse(fs.readFileSync(path.join(targetPath, 'run_results.json'), 'utf8')) as {
      results?: { adapter_response?: { rows_affected?: unknown } }[];
    };
    let total: number | null = null;
    for (const r of raw.results ?? []) {
      const n = r.adapter_response?.rows_affected;
      if (typeof n === 'number' && n >= 0) total = (total ?? 0) + n;
    }
    return total;
  } catch {
    return null;
  }
}

function errorLines(output: string): string {
  // dbt prints ANSI colours; errors are the lines around "Error" / "ERROR".
  // eslint-disable-next-line no-control-regex
  const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
  const lines = plain.split('\n').filter((l) => /error|Error|ERROR|failed|Failure/.test(l));
  const text = (lines.length > 0 ? lines : plain.split('\n').slice(-20)).join('\n').trim();
  return text.length > OUTPUT_TAIL_CHARS ? text.slice(-OUTPUT_TAIL_CHARS) : text;
}

/** Run `dbt <args>` in the project directory. Never throws: failures are in the result. */
export function runDbt(
  args: readonly string[],
  opts: DbtRunnerOptions,
  signal?: AbortSignal,
): Promise<DbtRunResult> {
  const started = Date.now();
  const fullArgs = [...args, '--target-path', opts.targetPath, '--log-path', opts.logPath];
  return new Promise((resolve) => {
    let output = '';
    let settled = false;
    let timedOut = false;
    const append = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.length > 4 * OUTPUT_TAIL_CHARS) output = output.slice(-2 * OUTPUT_TAIL_CHARS);
    };
    const finish = (exitCode: number | null, failure: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      const finishedAt = Date.now();
      const success = failure === null && exitCode === 0;
      resolve({
        success,
        exitCode,
        startedAt: new Date(started).toISOString(),
        finishedAt: new Date(finishedAt).toISOString(),
        durationMs: finishedAt - started,
        rowsAffected: success ? rowsAffectedFrom(opts.targetPath) : null,
        outputTail: output.slice(-OUTPUT_TAIL_CHARS),
        error: success ? null : (failure ?? `dbt exited with code ${exitCode}: ${errorLines(output)}`),
      });
    };
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(opts.dbtBin, fullArgs, {
        cwd: opts.projectDir,
        env: dbtEnv(opts),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      finish(null, `could not start ${opts.dbtBin}: ${String(err)}`);
      return;
    }
    const kill = () => {
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    };
    const onAbort = () => {
      kill();
      finish(null, 'dbt run cancelled');
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, opts.timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    child.on('error', (err) => finish(null, `could not start ${opts.dbtBin}: ${err.message}`));
    child.on('close', (code) =>
      finish(code, timedOut ? `dbt run timed out after ${opts.timeoutMs} ms: ${errorLines(output)}` : null),
    );
  });
}
