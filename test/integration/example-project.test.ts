/**
 * The example user projects (examples/temporal-worker, examples/dbt-project) as a user runs them:
 * the packed npm tarball (`npm pack`) installed into a temporary copy of the worker project, which
 * registers the Temporal plugin next to a workflow of its own; the dbt package installed into the
 * dbt project by local path (`dbt deps`), with the project's own profile on a DuckDB file. Against
 * the test run's Temporal dev server and the policy API simulator, it runs the guide's dbt
 * operation (queue an execution), one execution through the package's client helpers, the
 * project's own workflow, and the guide's dbt commands, and checks the state rows and model rows.
 *
 * DuckDB takes one writer per file: the test's dbt commands run while the worker is stopped; while
 * it runs, only the worker writes (its refresher runs dbt through the plugin's runner).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startSimulator, type Simulator } from '../../devtools/simulator/server';
import { REPO_ROOT } from '../../src/config';
import { defaultDbtBin } from '../../src/dbt/runner';
import type { StateRow } from '../../src/policy';
import { withDuckDb } from '../../src/warehouse/duckdb/connection';

const DBT_BIN = defaultDbtBin(REPO_ROOT);
const INSTALL_TIMEOUT_MS = 8 * 60_000;

interface Run {
  code: number | null;
  output: string;
}

/** Run a command to its end; its output (stdout and stderr) in the result. */
function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 180_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

async function mustRun(cmd: string, args: string[], opts: Parameters<typeof run>[2]): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${path.basename(cmd)} ${args.join(' ')} exited ${r.code}:\n${r.output}`);
  return r.output;
}

let tmp: string;
let workerDir: string;
let dbtDir: string;
let warehousePath: string;
let sim: Simulator;
let connection: Connection;
let client: Client;
const taskQueue = `example-${process.pid}-${Date.now()}`;

/** The dbt project's environment: its own profile, the shared DuckDB file. */
const dbtEnv = (): NodeJS.ProcessEnv => ({
  DBT_PROFILES_DIR: dbtDir,
  WAREHOUSE_PATH: warehousePath,
  DBT_SEND_ANONYMOUS_USAGE_STATS: 'false',
  DO_NOT_TRACK: '1',
});

const dbt = async (args: string[]) => {
  const started = Date.now();
  const out = await mustRun(DBT_BIN, args, { cwd: dbtDir, env: dbtEnv() });
  console.log(`[example] dbt ${args.slice(0, 2).join(' ')}: ${Date.now() - started} ms`);
  return out;
};

beforeAll(async () => {
  if (!fs.existsSync(path.join(REPO_ROOT, 'dist', 'plugin', 'index.js')))
    throw new Error("dist/ is missing or stale: run 'make build' first");
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pe-example-'));
  warehousePath = path.join(tmp, 'warehouse.duckdb');
  // The tarball a user would install.
  const packed = await mustRun('npm', ['pack', '--silent', '--pack-destination', tmp], { cwd: REPO_ROOT });
  const tarball = path.join(tmp, packed.trim().split('\n').pop() ?? '');
  // The example projects, as a user has them (no build output, no installed packages).
  const skip = (src: string) => !/[\\/](node_modules|dist|dbt_packages|target|logs)$/.test(src);
  workerDir = path.join(tmp, 'temporal-worker');
  dbtDir = path.join(tmp, 'dbt-project');
  fs.cpSync(path.join(REPO_ROOT, 'examples', 'temporal-worker'), workerDir, {
    recursive: true,
    filter: skip,
  });
  fs.cpSync(path.join(REPO_ROOT, 'examples', 'dbt-project'), dbtDir, { recursive: true, filter: skip });
  await mustRun(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball],
    {
      cwd: workerDir,
      timeoutMs: INSTALL_TIMEOUT_MS,
    },
  );
  await mustRun(path.join(workerDir, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], {
    cwd: workerDir,
  });
  // The dbt package comes with the npm package (packages.yml: a local path into node_modules).
  await dbt(['deps']);
  sim = await startSimulator({ host: '127.0.0.1', port: 0 });
  connection = await Connection.connect({ address: inject('temporalAddress') });
  client = new Client({ connection });
}, INSTALL_TIMEOUT_MS + 120_000);

afterAll(async () => {
  await connection?.close();
  await sim?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** The example's worker (node dist/worker.js), once it says it is ready. */
function startWorker(): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, ['dist/worker.js'], {
    cwd: workerDir,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TASK_QUEUE: taskQueue,
      POLICY_API_URL: sim.url,
      WAREHOUSE_PATH: warehousePath,
      DBT_PROJECT_DIR: dbtDir,
      DBT_BIN,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('policy-execution ready')) resolve({ child, output: () => out });
    });
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`the example worker exited early (${code}):\n${out}`)));
  });
}

async function stopWorker(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

function query(sql: string, binds: string[] = []): Promise<unknown[][]> {
  return withDuckDb(
    warehousePath,
    async (c) => (await c.runAndReadAll(sql, binds)).getRows() as unknown[][],
    {
      transaction: false,
    },
  );
}

describe('the example user projects (packed plugin and dbt package)', () => {
  it('runs executions from dbt and from the client helpers on the user worker, and lands them in the user model', async () => {
    // The guide's "Execute the Workflow", from the user's dbt project (queued; the worker is not up yet).
    const queued = await dbt(['run-operation', 'run_policy_workflow']);
    const requestId = /request (dbt-req-[0-9a-f-]+) queued/.exec(queued)?.[1];
    expect(requestId, queued).toBeDefined();

    const worker = await startWorker();
    let started: { outcome: { status: string; row: StateRow }; greeting: string };
    let fromDbt: StateRow;
    try {
      // One execution through the package's client helpers, and the project's own workflow.
      const executionId = `example-exec-${Date.now()}`;
      const out = await mustRun(process.execPath, ['dist/start-execution.js', executionId], {
        cwd: workerDir,
        env: { TEMPORAL_ADDRESS: inject('temporalAddress'), TASK_QUEUE: taskQueue },
      });
      started = JSON.parse(out.trim().split('\n').pop() ?? '') as typeof started;
      expect(started.greeting).toBe('hello, policy-execution');
      expect(started.outcome.status).toBe('completed');
      expect(started.outcome.row).toMatchObject({
        execution_id: executionId,
        status: 'completed',
        completed: true,
      });
      // The dbt request: the worker's dispatcher started it with the request id as workflow id.
      fromDbt = (await client.workflow.getHandle(requestId!).result()) as StateRow;
      expect(fromDbt).toMatchObject({ status: 'completed', circuit_breaker_completed: true });
    } finally {
      expect(await stopWorker(worker.child), worker.output()).toBe(0);
    }

    // The worker has closed the file: the guide's dbt commands from the user's project.
    const ids = [started.outcome.row.execution_id, requestId!];
    await dbt(['run', '--select', 'policy_execution_model']);
    const shown = await dbt([
      'run-operation',
      'run_query',
      '--args',
      JSON.stringify({
        sql: `SELECT execution_id, status FROM policy_execution_state WHERE execution_id = '${requestId}'`,
      }),
    ]);
    expect(shown).toContain(requestId);
    expect(shown).toContain('completed');
    const monitored = await dbt([
      'run-operation',
      'policy_execution_query',
      '--args',
      JSON.stringify({ sql: 'SELECT count(*) AS executions FROM policy_execution_model' }),
    ]);
    expect(monitored).toContain('executions');
    await dbt(['build']);
    const cleaned = await dbt(['run-operation', 'cleanup_policy_executions', '--args', '{hours: 24}']);
    expect(cleaned).toMatch(/deleted 0 /i);

    const state = await query(
      `SELECT execution_id, status, completed FROM policy_execution_state WHERE execution_id IN (?, ?) ORDER BY execution_id`,
      ids,
    );
    expect(state).toHaveLength(2);
    expect(state.every(([, status, completed]) => status === 'completed' && completed === true)).toBe(true);
    const model = await query(
      `SELECT execution_id, status, circuit_breaker_completed FROM policy_execution_model WHERE execution_id IN (?, ?) ORDER BY execution_id`,
      ids,
    );
    expect(model.map((r) => r[0])).toEqual([...ids].sort());
    expect(model.every(([, status, breaker]) => status === 'completed' && breaker === true)).toBe(true);
    const summary = await query(
      `SELECT execution_count FROM policy_execution_status_summary WHERE status = 'completed'`,
    );
    expect(Number(summary[0]?.[0])).toBeGreaterThanOrEqual(2);
  }, 600_000);
});
