/**
 * The chaos suite's view of a scenario's DuckDB file: final rows (through the real adapter), other
 * processes that hold the file (a DuckDB connection, `dbt run`), and a dump of every table for the
 * secret scan. The sampler that watches rows while a scenario runs is in sampler.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { StateRow } from '../../src/policy';
import { withDuckDb } from '../../src/warehouse/duckdb/connection';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/warehouse';
import { REPO_ROOT } from '../../src/config';

export { REPO_ROOT };
export const VENV_BIN = path.join(REPO_ROOT, '.venv/bin');

export async function readAllRows(file: string): Promise<StateRow[]> {
  const wh = new DuckDbWarehouse({ path: file, lockTimeoutMs: 120_000 });
  try {
    return await wh.listStates({ limit: 1_000_000 });
  } finally {
    await wh.close();
  }
}

/** Every row of every table in the file, as JSON text (for the secret scan). */
export async function dumpAllTables(file: string): Promise<string> {
  return withDuckDb(
    file,
    async (c) => {
      const tables = await c.runAndReadAll(
        `SELECT table_schema, table_name FROM information_schema.tables ORDER BY 1, 2`,
      );
      const parts: string[] = [];
      for (const [schema, name] of tables.getRows()) {
        const q = `SELECT * FROM "${String(schema)}"."${String(name)}"`;
        const r = await c.runAndReadAll(q);
        parts.push(`-- ${String(schema)}.${String(name)}`);
        parts.push(JSON.stringify(r.getRowObjectsJson()));
      }
      return parts.join('\n');
    },
    { readOnly: true, transaction: false, lockTimeoutMs: 120_000 },
  );
}

/** Another process holding the DuckDB file open read-write (the lock a long `dbt run` holds). */
export async function holdWarehouse(file: string, seconds: number): Promise<ChildProcess> {
  const script = [
    'import duckdb, sys, time',
    'deadline = time.time() + 60',
    'while True:',
    '    try:',
    '        c = duckdb.connect(sys.argv[1])',
    '        break',
    '    except duckdb.IOException:',
    '        if time.time() > deadline: raise',
    '        time.sleep(0.05)',
    "c.execute('BEGIN TRANSACTION')",
    "c.execute('SELECT count(*) FROM policy_execution_state').fetchall()",
    "print('holding', flush=True)",
    'time.sleep(float(sys.argv[2]))',
    "c.execute('COMMIT')",
  ].join('\n');
  const child = spawn(path.join(VENV_BIN, 'python'), ['-c', script, file, String(seconds)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`warehouse holder did not start: ${out}`)), 120_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('holding')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`warehouse holder exited (${code}): ${out}`));
    });
  });
  child.removeAllListeners('exit');
  return child;
}

export interface DbtRun {
  code: number | null;
  output: string;
  ms: number;
  /** Files dbt wrote (logs, target artifacts), for the secret scan. */
  files: string[];
}

/** `dbt run` against the scenario's file, with its logs and target dir in the scenario directory. */
export async function runDbt(file: string, dir: string, args: string[] = ['run']): Promise<DbtRun> {
  const started = Date.now();
  const targetPath = path.join(dir, 'dbt-target');
  const logPath = path.join(dir, 'dbt-logs');
  const child = spawn(
    path.join(VENV_BIN, 'dbt'),
    [...args, '--project-dir', path.join(REPO_ROOT, 'dbt'), '--profiles-dir', path.join(REPO_ROOT, 'dbt')],
    {
      env: {
        ...process.env,
        WAREHOUSE_PATH: path.resolve(file),
        DBT_TARGET_PATH: targetPath,
        DBT_LOG_PATH: logPath,
        DBT_SEND_ANONYMOUS_USAGE_STATS: 'false',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  return { code, output, ms: Date.now() - started, files: [...listFiles(targetPath), ...listFiles(logPath)] };
}

export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(p));
    else out.push(p);
  }
  return out;
}
