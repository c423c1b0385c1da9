/**
 * What is DuckDB's own in the DuckDB warehouse (the `Warehouse` contract itself is
 * warehouse-contract.test.ts): the types and defaults as DuckDB spells them, the upsert's SQL, one
 * open per batch, and the file lock, against real database files in a temp dir with a second process
 * (the project's python duckdb, same engine version) standing in for dbt holding the file lock.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initialState, STATE_COLUMNS, type StateRow } from '../../src/policy/state';
import { createTableSql, TABLES } from '../../src/warehouse/tables';
import { upsertSql } from '../../src/warehouse/duckdb/codec';
import { withDuckDb } from '../../src/warehouse/duckdb/connection';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/warehouse';
import { WarehouseBusyError } from '../../src/warehouse/types';

const PYTHON = path.resolve('.venv/bin/python');
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let dir: string;
let fileCounter = 0;
const children: ChildProcess[] = [];

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warehouse-duckdb-'));
});

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.pid) child.kill('SIGKILL');
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function freshFile(): string {
  fileCounter += 1;
  return path.join(dir, `wh-${fileCounter}.duckdb`);
}

function baseRow(id: string, overrides: Partial<StateRow> = {}): StateRow {
  return {
    ...initialState({
      executionId: id,
      workflowId: `wf-${id}`,
      policy: { name: id },
      at: '2026-11-28T18:44:08.123Z',
    }),
    ...overrides,
  };
}

/** Run python duckdb in another process against `file`; returns its stdout parsed as JSON. */
function pythonQuery(file: string, sql: string): unknown {
  const script = [
    'import duckdb, json, sys',
    'c = duckdb.connect(sys.argv[1])',
    'print(json.dumps(c.execute(sys.argv[2]).fetchall(), default=str))',
    'c.close()',
  ].join('\n');
  const out = execFileSync(PYTHON, ['-c', script, file, sql], { encoding: 'utf8', timeout: 30_000 });
  return JSON.parse(out);
}

/** Start a python process that holds a write connection to `file` for `seconds`; resolves once it holds it. */
async function holdLock(file: string, seconds: number): Promise<ChildProcess> {
  const script = [
    'import duckdb, sys, time',
    'c = duckdb.connect(sys.argv[1])',
    'print("locked", flush=True)',
    'time.sleep(float(sys.argv[2]))',
    'c.close()',
  ].join('\n');
  const child = spawn(PYTHON, ['-c', script, file, String(seconds)], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('locked')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`lock holder exited early (${code}): ${stderr}`)));
    child.on('error', reject);
  });
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.on('exit', () => resolve()));
}

describe('DuckDbWarehouse schema', () => {
  it('init creates all 20 columns with the DuckDB types, a primary key and the guide defaults; idempotent', async () => {
    const file = freshFile();
    const wh = new DuckDbWarehouse({ path: file });
    await wh.init();
    await wh.init();
    await new DuckDbWarehouse({ path: file }).init();

    const columns = await withDuckDb(file, async (c) => {
      const reader = await c.runAndReadAll(
        `SELECT column_name, data_type, is_nullable FROM information_schema.columns
         WHERE table_name = 'policy_execution_state' ORDER BY ordinal_position`,
      );
      return reader.getRowObjectsJS();
    });
    expect(columns.map((c) => c.column_name)).toEqual([...STATE_COLUMNS]);
    expect(columns).toHaveLength(20);
    // The usage guide's types as DuckDB spells them (NUMBER -> INTEGER, TIMESTAMP_NTZ -> TIMESTAMP,
    // VARIANT -> JSON).
    const guideTypes: Record<string, string> = {
      execution_id: 'VARCHAR',
      policy_id: 'VARCHAR',
      poll_count: 'INTEGER',
      status: 'VARCHAR',
      start_time: 'TIMESTAMP',
      last_poll_time: 'TIMESTAMP',
      completed: 'BOOLEAN',
      requires_circuit_breaker: 'BOOLEAN',
      circuit_breaker_initiated: 'BOOLEAN',
      circuit_breaker_completed: 'BOOLEAN',
      error_message: 'VARCHAR',
      message: 'VARCHAR',
      api_response: 'JSON',
      policy_data: 'JSON',
      policy_status_response: 'JSON',
      circuit_breaker_response: 'JSON',
      workflow_id: 'VARCHAR',
      state_version: 'INTEGER',
      updated_at: 'TIMESTAMP',
      run_id: 'VARCHAR',
    };
    for (const c of columns) {
      expect(c.data_type, c.column_name as string).toBe(guideTypes[c.column_name as string]);
    }
    expect(columns.find((c) => c.column_name === 'state_version')?.is_nullable).toBe('NO');
    expect(columns.find((c) => c.column_name === 'execution_id')?.is_nullable).toBe('NO');

    // Defaults: a row inserted the way the guide's SQL would (only the key) gets the guide's values.
    const defaults = await withDuckDb(file, async (c) => {
      await c.run(`INSERT INTO policy_execution_state (execution_id, state_version) VALUES ('d1', 1)`);
      const reader = await c.runAndReadAll(
        `SELECT poll_count, status, completed, requires_circuit_breaker, circuit_breaker_initiated,
                circuit_breaker_completed, epoch_ms(start_time) AS start_ms
         FROM policy_execution_state WHERE execution_id = 'd1'`,
      );
      return reader.getRowObjectsJS()[0];
    });
    expect(defaults).toMatchObject({
      poll_count: 0,
      status: 'pending',
      completed: false,
      requires_circuit_breaker: false,
      circuit_breaker_initiated: false,
      circuit_breaker_completed: false,
    });
    // Naive UTC "now".
    expect(Math.abs(Number(defaults?.start_ms) - Date.now())).toBeLessThan(60_000);

    // The primary key rejects a plain duplicate insert.
    await expect(
      withDuckDb(file, (c) =>
        c.run(`INSERT INTO policy_execution_state (execution_id, state_version) VALUES ('d1', 2)`),
      ),
    ).rejects.toThrow(/constraint|duplicate/i);

    const snowflake = createTableSql(TABLES.state, 'snowflake');
    expect(snowflake).toMatch(/api_response VARIANT,/);
    expect(snowflake).toMatch(/start_time TIMESTAMP_NTZ DEFAULT CURRENT_TIMESTAMP\(\),/);
    expect(snowflake).toMatch(/poll_count NUMBER DEFAULT 0,/);
  });

  it('builds one INSERT ... ON CONFLICT DO UPDATE ... WHERE newer statement for many rows', () => {
    const sql = upsertSql(3);
    expect(sql.match(/\(\?::VARCHAR, /g)).toHaveLength(3);
    expect(sql).toContain('ON CONFLICT (execution_id) DO UPDATE SET policy_id = excluded.policy_id');
    expect(sql).toContain(
      ' WHERE (((excluded.run_id IS NULL OR policy_execution_state.run_id IS NULL OR excluded.run_id = ' +
        'policy_execution_state.run_id) AND excluded.state_version > policy_execution_state.state_version)' +
        ' OR (excluded.run_id <> policy_execution_state.run_id AND excluded.updated_at > ' +
        'policy_execution_state.updated_at))',
    );
    expect(sql).not.toContain('execution_id = excluded.execution_id');
  });
});

describe('DuckDbWarehouse batching', () => {
  it('holds the file while writes keep coming: 200 concurrent upserts and a large call, one open', async () => {
    const wh = new DuckDbWarehouse({
      path: freshFile(),
      maxBatchRows: 50,
      hold: { idleMs: 5_000, maxHoldMs: 60_000, yieldMs: 10 },
    });
    await wh.init();
    const before = wh.stats();
    await Promise.all(Array.from({ length: 200 }, (_, i) => wh.upsertStates([baseRow(`e-${i}`)])));
    await wh.upsertStates(Array.from({ length: 120 }, (_, i) => baseRow(`big-${i}`)));
    const after = wh.stats();
    expect(after.opens - before.opens).toBe(1);
    expect(after.batches - before.batches).toBeGreaterThanOrEqual(2);
    expect(after.rowsWritten - before.rowsWritten).toBe(320);
    await wh.close();
  });

  it('prepares the upsert once per batch size while the file is held, and again after a reopen; the guard holds', async () => {
    const file = freshFile();
    const wh = new DuckDbWarehouse({
      path: file,
      maxBatchRows: 50,
      hold: { idleMs: 150, maxHoldMs: 60_000, yieldMs: 10 },
    });
    await wh.init();
    const start = wh.stats();
    for (let v = 1; v <= 8; v++)
      await wh.upsertStates([baseRow('p1', { state_version: v, message: `m${v}` })]);
    // A stale row through the same prepared statement: the version guard keeps the stored one.
    await wh.upsertStates([baseRow('p1', { state_version: 3, message: 'stale' })]);
    await wh.upsertStates([baseRow('p2'), baseRow('p3')]);
    await wh.upsertStates([baseRow('p4', { state_version: 2 }), baseRow('p5')]);
    let s = wh.stats();
    expect(s.opens - start.opens).toBe(1);
    expect(s.statements - start.statements).toBe(11);
    expect(s.prepares - start.prepares).toBe(2);
    expect((await wh.getState('p1'))?.message).toBe('m8');
    // More than maxBatchRows: one transaction of three statements (50, 50, 20 rows), two new sizes.
    await wh.upsertStates(Array.from({ length: 120 }, (_, i) => baseRow(`big-${i}`)));
    s = wh.stats();
    expect(s.statements - start.statements).toBe(14);
    expect(s.prepares - start.prepares).toBe(4);
    // The writer gives the file up when writes pause; the next open prepares again.
    await sleep(400);
    await wh.upsertStates([baseRow('p1', { state_version: 9, message: 'm9' })]);
    s = wh.stats();
    expect(s.opens - start.opens).toBeGreaterThanOrEqual(2);
    expect(s.prepares - start.prepares).toBe(5);
    await wh.close();
    expect(
      pythonQuery(
        file,
        `SELECT count(*), max(CASE WHEN execution_id = 'p1' THEN message END) FROM policy_execution_state`,
      ),
    ).toEqual([[125, 'm9']]);
  });
});

describe('DuckDbWarehouse group commit', () => {
  /** `executions` executions at once, each writing `versions` rows one after the other (as activities do). */
  async function concurrentExecutions(wh: DuckDbWarehouse, executions: number, versions: number) {
    await Promise.all(
      Array.from({ length: executions }, async (_, e) => {
        for (let v = 1; v <= versions; v++) await wh.upsertStates([baseRow(`g-${e}`, { state_version: v })]);
      }),
    );
  }

  it("a lone execution's writes never wait for others", async () => {
    const wh = new DuckDbWarehouse({ path: freshFile() });
    await wh.init();
    for (let v = 1; v <= 6; v++) await wh.upsertStates([baseRow('alone', { state_version: v })]);
    const s = wh.stats();
    expect(s.delayedBatches).toBe(0);
    expect(s.statements).toBe(6);
    await wh.close();
  });

  it('while many executions write at once, batches wait and gather their rows; nothing is lost', async () => {
    const file = freshFile();
    const wh = new DuckDbWarehouse({ path: file, commitDelay: { ms: 50, siblings: 4, windowMs: 250 } });
    await wh.init();
    await concurrentExecutions(wh, 20, 4);
    const s = wh.stats();
    expect(s.delayedBatches).toBeGreaterThan(0);
    // 80 writes of 20 executions: each delayed batch gathers the rows of several.
    expect(s.statements).toBeLessThanOrEqual(40);
    await wh.close();
    expect(
      pythonQuery(
        file,
        'SELECT count(*), min(state_version), max(state_version) FROM policy_execution_state',
      ),
    ).toEqual([[20, 4, 4]]);
  });

  it('commitDelay null writes every batch at once', async () => {
    const wh = new DuckDbWarehouse({ path: freshFile(), commitDelay: null });
    await wh.init();
    await concurrentExecutions(wh, 20, 2);
    expect(wh.stats().delayedBatches).toBe(0);
    await wh.close();
  });
});

describe('DuckDbWarehouse file lock discipline', () => {
  it('gives the file up when writes pause: another process can open it then', async () => {
    const file = freshFile();
    const wh = new DuckDbWarehouse({ path: file, hold: { idleMs: 50, maxHoldMs: 60_000, yieldMs: 10 } });
    await wh.upsertStates([baseRow('x1'), baseRow('x2', { state_version: 4 })]);
    await sleep(250);
    expect(
      pythonQuery(file, 'SELECT execution_id, state_version FROM policy_execution_state ORDER BY 1'),
    ).toEqual([
      ['x1', 1],
      ['x2', 4],
    ]);
    // The other process wrote too (as dbt would); our next read opens the file again and sees it.
    pythonQuery(file, `UPDATE policy_execution_state SET message = 'from python' WHERE execution_id = 'x1'`);
    expect((await wh.getState('x1'))?.message).toBe('from python');
    await sleep(250);
    expect(pythonQuery(file, 'SELECT count(*) FROM policy_execution_state')).toEqual([[2]]);
  });

  it('a lease (dbt) makes the writer close the file and wait until it is gone or paused; writes are not lost', async () => {
    const file = freshFile();
    const wh = new DuckDbWarehouse({ path: file, hold: { idleMs: 60_000, maxHoldMs: 60_000, yieldMs: 10 } });
    await wh.upsertStates([baseRow('l1')]);
    // Another live process takes the lease (as dbt's warehouse_lease plugin does).
    const holder = spawn(PYTHON, ['-c', 'import time; time.sleep(30)'], { stdio: 'ignore' });
    children.push(holder);
    fs.writeFileSync(
      `${file}.lease`,
      JSON.stringify({
        pid: holder.pid,
        host: os.hostname(),
        holder: 'dbt run',
        since: new Date().toISOString(),
      }),
    );
    const write = wh.upsertStates([baseRow('l2')]);
    await sleep(300);
    // The writer gave the file up for the lease holder: another process can open it now.
    pythonQuery(
      file,
      `UPDATE policy_execution_state SET message = 'by the lease holder' WHERE execution_id = 'l1'`,
    );
    let settled = false;
    void write.then(() => (settled = true));
    await sleep(200);
    expect(settled).toBe(false);
    // The holder pauses its lease (dbt's run_policy_workflow waiting between checks): the write goes
    // through while it is paused, and the lease counts again once the pause ends.
    fs.writeFileSync(`${file}.lease-paused`, `${JSON.stringify({ pid: holder.pid, paused: true })}\n`);
    await write;
    expect((await wh.getState('l1'))?.message).toBe('by the lease holder');
    expect(await wh.getState('l2')).not.toBeNull();
    fs.writeFileSync(`${file}.lease-paused`, `${JSON.stringify({ pid: holder.pid, paused: false })}\n`);
    const afterPause = wh.upsertStates([baseRow('l2b')]);
    settled = false;
    void afterPause.then(() => (settled = true));
    await sleep(300);
    expect(settled).toBe(false);
    fs.rmSync(`${file}.lease`);
    await afterPause;
    expect(await wh.getState('l2b')).not.toBeNull();
    await wh.close();
    // A lease whose process is gone is ignored.
    holder.kill('SIGKILL');
    await exited(holder);
    fs.writeFileSync(
      `${file}.lease`,
      JSON.stringify({
        pid: holder.pid,
        host: os.hostname(),
        holder: 'dbt run',
        since: new Date().toISOString(),
      }),
    );
    const again = new DuckDbWarehouse({ path: file });
    await again.upsertStates([baseRow('l3')]);
    expect(await again.getState('l3')).not.toBeNull();
    await again.close();
  });

  it('waits for another process to release the lock, then succeeds', async () => {
    const file = freshFile();
    const wh = new DuckDbWarehouse({ path: file });
    await wh.init();
    const holder = await holdLock(file, 1.5);
    const started = Date.now();
    await wh.upsertStates([baseRow('after-wait')]);
    const waited = Date.now() - started;
    await exited(holder);
    expect(holder.exitCode).toBe(0);
    expect(waited).toBeGreaterThan(700);
    expect(wh.stats().lockRetries).toBeGreaterThan(0);
    expect(await wh.getState('after-wait')).toEqual(baseRow('after-wait'));
  });

  it('reads wait for the lock too', async () => {
    const file = freshFile();
    // Written by a writer that is closed (it gave the file up), then read by another.
    const writer = new DuckDbWarehouse({ path: file });
    await writer.upsertStates([baseRow('r1')]);
    await writer.close();
    const wh = new DuckDbWarehouse({ path: file });
    const holder = await holdLock(file, 1);
    const started = Date.now();
    expect((await wh.getState('r1'))?.execution_id).toBe('r1');
    expect(Date.now() - started).toBeGreaterThan(400);
    await exited(holder);
  });

  it('gives up with WarehouseBusyError after lockTimeoutMs', async () => {
    const file = freshFile();
    const wh = new DuckDbWarehouse({ path: file, lockTimeoutMs: 300 });
    await wh.init();
    const holder = await holdLock(file, 3);
    const started = Date.now();
    const err: unknown = await wh.upsertStates([baseRow('busy')]).catch((e: unknown) => e);
    const waited = Date.now() - started;
    expect(err).toBeInstanceOf(WarehouseBusyError);
    expect((err as Error).message).toContain(path.resolve(file));
    expect((err as Error).message).toMatch(/locked by another process; gave up after waiting \d+ ms/);
    expect(waited).toBeGreaterThanOrEqual(250);
    expect(waited).toBeLessThan(2000);
    expect(wh.stats().busyErrors).toBe(1);
    await expect(wh.getState('busy')).rejects.toBeInstanceOf(WarehouseBusyError);
    holder.kill('SIGKILL');
    await exited(holder);
    // The adapter recovers once the file is free.
    await wh.upsertStates([baseRow('busy')]);
    expect((await wh.getState('busy'))?.execution_id).toBe('busy');
  });
});

describe('DuckDbWarehouse and an idle dispatcher', () => {
  const insertRequest = (file: string, id: string, keepLog = false) =>
    pythonQuery(
      file,
      // keepLog: the commit stays in the write-ahead log (no checkpoint when python closes the file).
      `${keepLog ? 'PRAGMA disable_checkpoint_on_shutdown; ' : ''}INSERT INTO policy_execution_requests ` +
        `(request_id, policy, requested_at, requested_by, status) VALUES ('${id}', '{"policy_name": "${id}"}', ` +
        `TIMESTAMP '2026-01-01 00:00:00', 'dbt_user', 'requested') RETURNING request_id`,
    );

  it('answers an unchanged, empty request table without opening the file; a request another process adds is seen at the next pass', async () => {
    const file = freshFile();
    const wh = new DuckDbWarehouse({ path: file });
    await wh.init();
    expect(await wh.pendingRequests()).toEqual([]);
    const opens = wh.stats().opens;
    for (let i = 0; i < 5; i += 1) expect(await wh.pendingRequests()).toEqual([]);
    expect(wh.stats()).toMatchObject({ opens, quietPasses: 5 });

    // Another process (dbt run-operation) inserts, with a checkpoint at its close, then without one.
    for (const [i, keepLog] of [false, true, false, true].entries()) {
      const id = `r${i}`;
      insertRequest(file, id, keepLog);
      expect(fs.existsSync(`${file}.wal`)).toBe(keepLog);
      expect((await wh.pendingRequests()).map((r) => r.request_id)).toEqual([id]);
      await wh.markRequests([{ requestId: id, status: 'dispatched', workflowId: id }]);
      // The pass after the marks reads once (this process wrote), then trusts the file again.
      expect(await wh.pendingRequests()).toEqual([]);
      const { opens: before, quietPasses } = wh.stats();
      expect(await wh.pendingRequests()).toEqual([]);
      expect(wh.stats()).toMatchObject({ opens: before, quietPasses: quietPasses + 1 });
    }
  });

  it("this process's own state writes and quietRecheckMs end the trust; 0 reads every time", async () => {
    const file = freshFile();
    const wh = new DuckDbWarehouse({
      path: file,
      quietRecheckMs: 200,
      hold: { idleMs: 30, maxHoldMs: 60_000, yieldMs: 10 },
    });
    await wh.init();
    expect(await wh.pendingRequests()).toEqual([]);
    expect(await wh.pendingRequests()).toEqual([]);
    expect(wh.stats().quietPasses).toBe(1);
    await wh.upsertStates([baseRow('s1')]);
    expect(await wh.pendingRequests()).toEqual([]);
    expect(wh.stats().quietPasses).toBe(1);
    await sleep(100); // the held file closes (checkpoint): the mark changes once more
    expect(await wh.pendingRequests()).toEqual([]);
    expect(await wh.pendingRequests()).toEqual([]);
    expect(wh.stats().quietPasses).toBe(2);
    await sleep(250);
    const opens = wh.stats().opens;
    expect(await wh.pendingRequests()).toEqual([]);
    expect(wh.stats()).toMatchObject({ opens: opens + 1, quietPasses: 2 });

    const every = new DuckDbWarehouse({ path: freshFile(), quietRecheckMs: 0 });
    await every.init();
    for (let i = 0; i < 3; i += 1) expect(await every.pendingRequests()).toEqual([]);
    expect(every.stats().quietPasses).toBe(0);
  });
});

describe('withDuckDb', () => {
  it('commits on success, rolls back on error, and releases the file either way', async () => {
    const file = freshFile();
    await new DuckDbWarehouse({ path: file }).init();
    await withDuckDb(file, (c) =>
      c.run(`INSERT INTO policy_execution_state (execution_id, state_version) VALUES (?, 1)`, ['kept']),
    );
    await expect(
      withDuckDb(file, async (c) => {
        await c.run(`INSERT INTO policy_execution_state (execution_id, state_version) VALUES (?, 1)`, [
          'gone',
        ]);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(pythonQuery(file, 'SELECT execution_id FROM policy_execution_state ORDER BY 1')).toEqual([
      ['kept'],
    ]);
  });

  it('opens the file with one DuckDB thread (writes and reads alike)', async () => {
    const file = freshFile();
    await new DuckDbWarehouse({ path: file }).init();
    const threads = async (readOnly: boolean) =>
      withDuckDb(
        file,
        async (c) => (await c.runAndReadAll(`SELECT current_setting('threads')`)).getRows()[0]?.[0],
        { readOnly },
      );
    expect(Number(await threads(false))).toBe(1);
    expect(Number(await threads(true))).toBe(1);
  });
});
