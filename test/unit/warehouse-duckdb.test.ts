/**
 * The DuckDB warehouse against real database files in a temp dir, with a second process (the
 * project's python duckdb, same engine version) standing in for dbt holding the file lock.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initialState, STATE_COLUMNS, transition, type StateRow } from '../../src/policy/state';
import { createTableSql, TABLES } from '../../src/warehouse/tables';
import { upsertSql } from '../../src/warehouse/duckdb/codec';
import { withDuckDb } from '../../src/warehouse/duckdb/connection';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/warehouse';
import { WarehouseBusyError } from '../../src/warehouse/types';

const PYTHON = path.resolve('.venv/bin/python');
const INJECTION = `'; DROP TABLE policy_execution_state; --`;

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

  it('init adds the columns a table created by an earlier version lacks, keeping its rows', async () => {
    const file = freshFile();
    await withDuckDb(file, async (c) => {
      await c.run(`CREATE TABLE policy_model_refresh_log (refresh_id VARCHAR PRIMARY KEY, success BOOLEAN)`);
      await c.run(`INSERT INTO policy_model_refresh_log VALUES ('old-1', true)`);
    });
    await new DuckDbWarehouse({ path: file }).init();
    const rows = await withDuckDb(
      file,
      async (c) =>
        (
          await c.runAndReadAll(`SELECT refresh_id, model_rows, workflow_id FROM policy_model_refresh_log`)
        ).getRowObjectsJS(),
      { readOnly: true, transaction: false },
    );
    expect(rows).toEqual([{ refresh_id: 'old-1', model_rows: null, workflow_id: null }]);
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

describe('DuckDbWarehouse rows', () => {
  it('round-trips every field: JSON values, nulls, unicode and SQL text stored verbatim', async () => {
    const file = freshFile();
    const wh = new DuckDbWarehouse({ path: file });
    const full: StateRow = {
      execution_id: `exec-ünïcødé-🚀-${INJECTION}`,
      policy_id: `d74d726c-9ca0-4c96-b9e3-755396547dce${INJECTION}`,
      poll_count: 3,
      status: 'completed',
      start_time: '2026-11-28T18:44:08.123Z',
      last_poll_time: '2026-11-28T18:44:14.999Z',
      completed: true,
      requires_circuit_breaker: true,
      circuit_breaker_initiated: true,
      circuit_breaker_completed: true,
      error_message: `it's "quoted"\nnew line\t${INJECTION}`,
      message: '日本語のメッセージ — ok',
      api_response: {
        json: { policy_id: 'p-1', nested: [1, 2.5, -3e-7, true, null, { a: 'b' }] },
        empty: {},
      },
      policy_data: {
        policy_name: 'sample_policy',
        parameters: { retention_days: 90, regions: ['us', 'eu'] },
        sql: INJECTION,
        emoji: '✅🔥',
        big: 9007199254740991,
      },
      policy_status_response: 'a bare JSON string',
      circuit_breaker_response: [{ status: 'initiated' }, 0, false, ''],
      workflow_id: `wf-${INJECTION}`,
      state_version: 7,
      updated_at: '2026-11-28T18:44:15.000Z',
      run_id: `run-${INJECTION}`,
    };
    const sparse = baseRow('sparse', { policy_data: null, message: null });
    const falsy = baseRow('falsy', { api_response: false, policy_data: 0, policy_status_response: '' });
    await wh.upsertStates([full, sparse, falsy]);

    expect(await wh.getState(full.execution_id)).toEqual(full);
    expect(await wh.getState('sparse')).toEqual(sparse);
    expect(await wh.getState('falsy')).toEqual(falsy);
    expect(await wh.getState(INJECTION)).toBeNull();
    expect(await wh.getState('missing')).toBeNull();

    // The text really is in the table (not merely echoed back), and the table survived.
    const stored = pythonQuery(
      file,
      `SELECT error_message, policy_data->>'sql' FROM policy_execution_state WHERE state_version = 7`,
    );
    expect(stored).toEqual([[full.error_message, INJECTION]]);
    await wh.close();
  });

  it('normalizes timestamps to naive UTC and reads them back as ISO ...Z', async () => {
    const wh = new DuckDbWarehouse({ path: freshFile() });
    const row = baseRow('tz', {
      start_time: '2026-11-28T20:44:08.123+02:00',
      last_poll_time: '2026-11-28T18:44:08Z',
      updated_at: '2026-11-28T18:44:09.5',
    });
    await wh.upsertStates([row]);
    expect(await wh.getState('tz')).toMatchObject({
      start_time: '2026-11-28T18:44:08.123Z',
      last_poll_time: '2026-11-28T18:44:08.000Z',
      updated_at: '2026-11-28T18:44:09.500Z',
    });
  });

  it('listStates returns most recent first, honouring limit', async () => {
    const wh = new DuckDbWarehouse({ path: freshFile() });
    expect(await wh.listStates()).toEqual([]);
    await wh.upsertStates([
      baseRow('old', { start_time: '2026-01-01T00:00:00.000Z' }),
      baseRow('new', { start_time: '2026-03-01T00:00:00.000Z' }),
      baseRow('mid', { start_time: '2026-02-01T00:00:00.000Z' }),
    ]);
    expect((await wh.listStates()).map((r) => r.execution_id)).toEqual(['new', 'mid', 'old']);
    expect((await wh.listStates({ limit: 2 })).map((r) => r.execution_id)).toEqual(['new', 'mid']);
    expect(await wh.listStates({ limit: 0 })).toEqual([]);
  });

  it('version guard: an older state_version never overwrites a newer one', async () => {
    const wh = new DuckDbWarehouse({ path: freshFile() });
    const v1 = baseRow('g');
    const v2 = transition(v1, {
      type: 'policy_created',
      at: '2026-11-28T18:44:09.000Z',
      policyId: 'p',
      response: {},
    });
    const v3 = transition(v2, {
      type: 'polled',
      at: '2026-11-28T18:44:11.000Z',
      ready: false,
      statusText: 'pending',
      response: { status: 'pending' },
    });
    await wh.upsertStates([v3]);
    await wh.upsertStates([v2]);
    await wh.upsertStates([v1]);
    expect(await wh.getState('g')).toEqual(v3);
    // Same version again (an activity retry) is a no-op, not an error.
    await wh.upsertStates([{ ...v3, message: 'retry with same version' }]);
    expect((await wh.getState('g'))?.message).toBe(v3.message);

    // One batch holding v2 and v5 of one id (either order) writes v5.
    await wh.upsertStates([
      baseRow('b1', { state_version: 2 }),
      baseRow('b1', { state_version: 5, message: 'v5' }),
    ]);
    await wh.upsertStates([
      baseRow('b2', { state_version: 5, message: 'v5' }),
      baseRow('b2', { state_version: 2 }),
    ]);
    expect(await wh.getState('b1')).toMatchObject({ state_version: 5, message: 'v5' });
    expect(await wh.getState('b2')).toMatchObject({ state_version: 5, message: 'v5' });

    // Concurrent calls for one id coalesced into one batch: the highest version wins.
    await Promise.all(
      [4, 9, 2, 6].map((v) => wh.upsertStates([baseRow('c1', { state_version: v, message: `v${v}` })])),
    );
    expect(await wh.getState('c1')).toMatchObject({ state_version: 9, message: 'v9' });
    // And a newer version does overwrite.
    await wh.upsertStates([baseRow('c1', { state_version: 10, status: 'error', error_message: 'boom' })]);
    expect(await wh.getState('c1')).toMatchObject({
      state_version: 10,
      status: 'error',
      error_message: 'boom',
    });
  });

  it('run guard: a later run supersedes an earlier one whatever the versions; late writes of the earlier run are dropped', async () => {
    const wh = new DuckDbWarehouse({ path: freshFile() });
    const at = (s: number) => new Date(Date.UTC(2026, 10, 28, 18, 44, s)).toISOString();
    // Run A completes (v5). Run B (a reset or a re-run) starts over at v1, later.
    await wh.upsertStates([
      baseRow('r', { run_id: 'A', state_version: 5, status: 'completed', updated_at: at(10) }),
    ]);
    await wh.upsertStates([baseRow('r', { run_id: 'B', state_version: 1, updated_at: at(20) })]);
    expect(await wh.getState('r')).toMatchObject({ run_id: 'B', state_version: 1, status: 'pending' });
    // A late write of run A (a retried local activity of the old run) is dropped, even with a higher version.
    await wh.upsertStates([
      baseRow('r', { run_id: 'A', state_version: 6, status: 'error', updated_at: at(11) }),
    ]);
    expect(await wh.getState('r')).toMatchObject({ run_id: 'B', state_version: 1 });
    // Within run B, versions order the writes as before.
    await wh.upsertStates([
      baseRow('r', { run_id: 'B', state_version: 3, status: 'error', updated_at: at(25) }),
    ]);
    await wh.upsertStates([baseRow('r', { run_id: 'B', state_version: 2, updated_at: at(22) })]);
    expect(await wh.getState('r')).toMatchObject({ run_id: 'B', state_version: 3, status: 'error' });
    // Rows written before runs were recorded (run_id null) order by version against any run.
    await wh.upsertStates([baseRow('legacy', { run_id: null, state_version: 3, updated_at: at(10) })]);
    await wh.upsertStates([baseRow('legacy', { run_id: 'C', state_version: 4, updated_at: at(10) })]);
    expect(await wh.getState('legacy')).toMatchObject({ run_id: 'C', state_version: 4 });
    // One batch with both runs (either order) keeps the later run.
    await wh.upsertStates([
      baseRow('m', { run_id: 'B', state_version: 1, updated_at: at(20) }),
      baseRow('m', { run_id: 'A', state_version: 5, updated_at: at(10) }),
    ]);
    expect(await wh.getState('m')).toMatchObject({ run_id: 'B' });
  });

  it('a bad row fails its own call only', async () => {
    const wh = new DuckDbWarehouse({ path: freshFile() });
    const results = await Promise.allSettled([
      wh.upsertStates([baseRow('ok-1')]),
      wh.upsertStates([baseRow('bad', { start_time: 'not a time' })]),
      wh.upsertStates([baseRow('bad2', { state_version: 1.5 })]),
      wh.upsertStates([baseRow('ok-2')]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((await wh.listStates()).map((r) => r.execution_id).sort()).toEqual(['ok-1', 'ok-2']);
  });
});

describe('DuckDbWarehouse batching', () => {
  it('coalesces 200 concurrent upserts into a few opens and statements', async () => {
    const wh = new DuckDbWarehouse({ path: freshFile() });
    await wh.init();
    const before = wh.stats();
    await Promise.all(Array.from({ length: 200 }, (_, i) => wh.upsertStates([baseRow(`e-${i}`)])));
    const after = wh.stats();
    const opens = after.opens - before.opens;
    const statements = after.statements - before.statements;
    expect(opens).toBeGreaterThanOrEqual(1);
    expect(opens).toBeLessThanOrEqual(3);
    expect(statements).toBe(after.batches - before.batches);
    expect(statements).toBeLessThanOrEqual(3);
    expect(after.rowsWritten - before.rowsWritten).toBe(200);
    const rows = await wh.listStates({ limit: 1000 });
    expect(new Set(rows.map((r) => r.execution_id)).size).toBe(200);
  });

  it('keeps batches within maxBatchRows', async () => {
    const wh = new DuckDbWarehouse({ path: freshFile(), maxBatchRows: 50 });
    await wh.init();
    const before = wh.stats();
    // One call larger than the limit: one open, split into statements of <= 50 rows.
    await wh.upsertStates(Array.from({ length: 120 }, (_, i) => baseRow(`big-${i}`)));
    const after = wh.stats();
    expect(after.opens - before.opens).toBe(1);
    expect(after.statements - before.statements).toBe(3);
    // Many small calls: batches of at most 50 rows each.
    await Promise.all(Array.from({ length: 120 }, (_, i) => wh.upsertStates([baseRow(`small-${i}`)])));
    const afterSmall = wh.stats();
    expect(afterSmall.batches - after.batches).toBeGreaterThanOrEqual(3);
    expect(afterSmall.batches - after.batches).toBeLessThanOrEqual(4);
    expect((await wh.listStates({ limit: 1000 })).length).toBe(240);
  });

  it('serializes reads and writes on one file and drains queued writes on close()', async () => {
    const file = freshFile();
    const wh = new DuckDbWarehouse({ path: file });
    const other = new DuckDbWarehouse({ path: file });
    const ops = Array.from({ length: 40 }, (_, i) =>
      i % 2 === 0 ? wh.upsertStates([baseRow(`s-${i}`)]) : other.listStates(),
    );
    const writes = Array.from({ length: 10 }, (_, i) => other.upsertStates([baseRow(`late-${i}`)]));
    await other.close();
    await Promise.all([...ops, ...writes]);
    expect((await wh.listStates({ limit: 100 })).length).toBe(30);
    await expect(other.upsertStates([baseRow('after-close')])).rejects.toThrow(/closed/);
  });
});

describe('DuckDbWarehouse file lock discipline', () => {
  it('releases the file after every operation: another process can open it right away', async () => {
    const file = freshFile();
    const wh = new DuckDbWarehouse({ path: file });
    await wh.upsertStates([baseRow('x1'), baseRow('x2', { state_version: 4 })]);
    expect(
      pythonQuery(file, 'SELECT execution_id, state_version FROM policy_execution_state ORDER BY 1'),
    ).toEqual([
      ['x1', 1],
      ['x2', 4],
    ]);
    // The other process wrote too (as dbt would); our next read opens the file again and sees it.
    pythonQuery(file, `UPDATE policy_execution_state SET message = 'from python' WHERE execution_id = 'x1'`);
    expect((await wh.getState('x1'))?.message).toBe('from python');
    expect(pythonQuery(file, 'SELECT count(*) FROM policy_execution_state')).toEqual([[2]]);
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
    const wh = new DuckDbWarehouse({ path: file });
    await wh.upsertStates([baseRow('r1')]);
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
});
