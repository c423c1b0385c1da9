/**
 * The dbt side, end to end with the real parts: the real dev server, simulator, warehouse and the
 * real dbt CLI from the venv, for both warehouses: a DuckDB file (dbt's `duckdb` target) and a schema
 * on the Snowflake emulator (the `snowflake` target; one emulator for this file). Covers the coalesced
 * model refresh (dbtRefresh workflow + one-slot dbt worker), `dbt build` on a mixed batch, the guide's
 * run-operations through the request dispatcher (eager starts) and the dispatcher under double
 * delivery; and, on DuckDB only, a hand-started `dbt run` while executions write (the single-writer
 * file). The refresher's own timing (late asks, its workflow task timeout, lost and long dbt
 * attempts) is in dbt-refresher.test.ts.
 *
 * The SQL the tests send straight to the warehouse is written so both read it the same way.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REFRESH_PRIORITY_KEY, type RefreshStatus } from '../../src/contracts';
import { RequestDispatcher } from '../../src/dispatcher';
import type { StateRow } from '../../src/policy';
import type { WarehouseStats } from '../../src/warehouse/types';
import {
  DBT_BIN,
  DBT_PROJECT_DIR,
  DISPATCHER_IDENTITY,
  policyWithId,
  refresherStatus,
  runExecution,
  startHarness,
  uniqueId,
  waitFor,
  type Harness,
} from '../helpers/harness';
import { insertRequestSql, TEST_WAREHOUSES, useWarehouses } from '../helpers/warehouses';

const warehouses = useWarehouses();

interface DbtResult {
  code: number | null;
  output: string;
  ms: number;
}

function dbt(h: Harness, args: string[]): Promise<DbtResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(
      DBT_BIN,
      [...args, '--target-path', `${h.tmpDir}/dbt-user/target`, '--log-path', `${h.tmpDir}/dbt-user/logs`],
      {
        cwd: DBT_PROJECT_DIR,
        env: {
          ...process.env,
          ...h.db.dbtEnv,
          DBT_PROFILES_DIR: DBT_PROJECT_DIR,
          DBT_SEND_ANONYMOUS_USAGE_STATS: 'false',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output, ms: Date.now() - started }));
  });
}

function query<T = unknown[]>(h: Harness, sql: string, params: (string | null)[] = []): Promise<T[]> {
  return h.db.query(sql, params) as Promise<T[]>;
}

/** `?, ?, ...` for an IN list of `n` values. */
const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ');

async function modelHas(h: Harness, ids: string[]): Promise<number> {
  if ((await h.warehouse.countRows('policy_execution_model')) === null) return 0;
  const rows = await query(
    h,
    `SELECT count(*) FROM policy_execution_model WHERE execution_id IN (${marks(ids.length)})`,
    ids,
  );
  return Number(rows[0]?.[0] ?? 0);
}

/** A naive UTC timestamp read as text (CAST ... AS VARCHAR), in epoch ms. */
const epochMs = (text: unknown) => Date.parse(`${String(text).replace(' ', 'T')}Z`);

interface RefreshRow {
  refresh_id: string;
  started: number;
  finished: number;
  success: boolean;
  requests: number;
  model_rows: number | null;
}

async function refreshLog(h: Harness): Promise<RefreshRow[]> {
  const rows = await query(
    h,
    `SELECT refresh_id, CAST(started_at AS VARCHAR), CAST(finished_at AS VARCHAR), success, requests, model_rows
       FROM policy_model_refresh_log WHERE workflow_id = ? ORDER BY started_at`,
    [h.refreshWorkflowId ?? ''],
  );
  return rows.map((r) => ({
    refresh_id: String(r[0]),
    started: epochMs(r[1]),
    finished: epochMs(r[2]),
    success: Boolean(r[3]),
    requests: Number(r[4]),
    model_rows: r[5] === null ? null : Number(r[5]),
  }));
}

describe.each(TEST_WAREHOUSES)('model refresh (dbtRefresh workflow) on %s', (warehouse) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ refresh: { debounceMs: 1000, maxWaitMs: 10_000 }, warehouse, warehouses });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('a burst of 100 executions: at most 5 dbt runs, never overlapping, model holds all 100 within 30 s', async () => {
    const started = Date.now();
    const outs = await Promise.all(
      Array.from({ length: 100 }, () =>
        runExecution(h, policyWithId(uniqueId('burst')), { pollIntervalMs: 0, refreshModel: true }),
      ),
    );
    const lastCompletion = Date.now();
    const ids = outs.map((o) => o.workflowId);
    expect(outs.filter((o) => o.row?.status === 'completed')).toHaveLength(100);
    const inModel = await waitFor(
      'the model to hold all 100',
      async () => (await modelHas(h, ids)) === 100,
      30_000,
    );
    expect(inModel).toBe(true);
    const lagMs = Date.now() - lastCompletion;

    // Let any run still in flight finish before reading the log.
    let last: RefreshStatus | undefined;
    await waitFor(
      'the refresher to be idle',
      async () => {
        last = await refresherStatus(h);
        // requestsServed counts asks whose dbt run finished and was logged.
        return last.pending === 0 && last.requestsServed === 100;
      },
      // A last run may still be starting; on the Snowflake emulator under load one dbt run has taken
      // up to ~45 s, and a burst may need several.
      300_000,
    ).catch((err: unknown) => {
      throw new Error(
        `${err instanceof Error ? err.message : String(err)}; last refreshStatus: ${JSON.stringify(last)}`,
      );
    });
    const log = await refreshLog(h);
    expect(log.length).toBeGreaterThanOrEqual(1);
    expect(log.length).toBeLessThanOrEqual(5);
    expect(log.every((r) => r.success)).toBe(true);
    for (let i = 1; i < log.length; i++) {
      const prev = log[i - 1] as RefreshRow;
      expect((log[i] as RefreshRow).started).toBeGreaterThanOrEqual(prev.finished);
    }
    // Every ask was served by some run.
    expect(log.reduce((n, r) => n + r.requests, 0)).toBe(100);
    const longest = Math.max(...log.map((r) => r.finished - r.started));
    const writes = h.warehouse.stats() as WarehouseStats & { mergeMs?: number; maxMergeMs?: number };
    const merge =
      writes.mergeMs === undefined
        ? ''
        : `, ${Math.round(writes.mergeMs / writes.statements)} ms per MERGE on average, ${writes.maxMergeMs} ms at most`;
    console.log(
      `[burst on ${warehouse}] 100 executions in ${lastCompletion - started} ms; dbt invocations: ${log.length}; ` +
        `longest dbt run: ${longest} ms; last completion -> model shows all: ${lagMs} ms; state writes: ` +
        `${writes.rowsWritten} rows in ${writes.statements} statements (${(writes.rowsWritten / writes.statements).toFixed(1)} rows each${merge})`,
    );
    // The refresher's memo shows the last refresh.
    const desc = await h.env.client.workflow.getHandle(h.refreshWorkflowId ?? '').describe();
    // It runs on the worker's task queue, at a priority above the executions' (decision 11).
    expect(desc.taskQueue).toBe(h.taskQueue);
    expect(desc.raw.workflowExecutionInfo?.priority?.priorityKey).toBe(REFRESH_PRIORITY_KEY);
    const memo = desc.memo as { refresh?: { runs: number; last: { success: boolean } } } | undefined;
    expect(memo?.refresh?.runs).toBeGreaterThanOrEqual(1);
    expect(memo?.refresh?.last.success).toBe(true);
  }, 480_000);

  it('refresh can be turned off per execution', async () => {
    const before = (await refreshLog(h)).length;
    const out = await runExecution(h, policyWithId(uniqueId('norefresh')), {
      pollIntervalMs: 0,
      refreshModel: false,
    });
    expect(out.row?.status).toBe('completed');
    const s = await refresherStatus(h);
    expect(s.pending).toBe(0);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await refreshLog(h)).length).toBe(before);
  });

  it('dbt build (models + data tests) passes after a mixed batch, with the at-a-glance columns right', async () => {
    const ok = policyWithId(uniqueId('mixok'), { policy_name: 'mixed_ok', priority: 'critical' });
    const failedId = uniqueId('mixfail');
    h.sim.scriptPolicy(failedId, { statuses: ['failed'] });
    const slowId = uniqueId('mixslow');
    h.sim.scriptPolicy(slowId, { statuses: ['pending'] });
    const outs = await Promise.all([
      runExecution(h, ok, { pollIntervalMs: 0 }),
      runExecution(h, policyWithId(failedId), { pollIntervalMs: 0 }),
      runExecution(h, policyWithId(slowId), { pollIntervalMs: 0, maxPolls: 2 }),
      runExecution(h, { policy_name: 'broken' }, {}),
      runExecution(h, policyWithId(uniqueId('mixok2')), { pollIntervalMs: 0, refreshModel: false }),
    ]);
    expect(outs.map((o) => o.row?.status)).toEqual(['completed', 'error', 'error', 'error', 'completed']);

    const build = await dbt(h, ['build']);
    expect(build.code, build.output).toBe(0);
    expect(build.output).toMatch(/Completed successfully/);

    const rows = await query(
      h,
      `SELECT execution_id, status, policy_name, priority, circuit_breaker_id, last_error, duration_seconds
         FROM policy_execution_model WHERE execution_id IN (${marks(outs.length)}) ORDER BY execution_id`,
      outs.map((o) => o.workflowId),
    );
    const byId = new Map(rows.map((r) => [String(r[0]), r]));
    const okRow = byId.get(outs[0]?.workflowId ?? '');
    expect(okRow?.[1]).toBe('completed');
    expect(okRow?.[2]).toBe('mixed_ok');
    expect(okRow?.[3]).toBe('critical');
    expect(String(okRow?.[4])).toMatch(/^cb_/);
    expect(okRow?.[5]).toBeNull();
    expect(Number(okRow?.[6])).toBeGreaterThanOrEqual(0);
    const failRow = byId.get(outs[1]?.workflowId ?? '');
    expect(String(failRow?.[5])).toMatch(/poll/i);
    expect(byId.size).toBe(5);
    const summary = await query(
      h,
      `SELECT status, execution_count FROM policy_execution_status_summary ORDER BY status`,
    );
    const counts = Object.fromEntries(summary.map((r) => [String(r[0]), Number(r[1])]));
    const state = await query(
      h,
      `SELECT status, count(*) FROM policy_execution_state GROUP BY status ORDER BY status`,
    );
    expect(counts).toEqual(Object.fromEntries(state.map((r) => [String(r[0]), Number(r[1])])));

    // The guide's monitoring queries run unchanged against the table.
    const all = await query(
      h,
      `SELECT
    execution_id,
    policy_id,
    status,
    poll_count,
    circuit_breaker_completed,
    start_time,
    message,
    error_message
FROM policy_execution_state
ORDER BY start_time DESC;`,
    );
    expect(all.length).toBeGreaterThanOrEqual(5);
    const byStatus = await query(
      h,
      `SELECT
    status,
    COUNT(*) as count
FROM policy_execution_state
GROUP BY status;`,
    );
    expect(byStatus.length).toBeGreaterThanOrEqual(2);

    // The guide's cleanup as a macro: completed rows older than `hours` go (0: all completed ones),
    // in-flight and error rows stay unless asked; the model follows on its next run.
    const cleanup = await dbt(h, ['run-operation', 'cleanup_policy_executions', '--args', '{hours: 0}']);
    expect(cleanup.code, cleanup.output).toBe(0);
    expect(cleanup.output).toMatch(/cleanup_policy_executions: deleted \d+ rows?/);
    const left = await query(
      h,
      `SELECT SUM(CASE WHEN completed THEN 1 ELSE 0 END), SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END)
         FROM policy_execution_state`,
    );
    expect(Number(left[0]?.[0])).toBe(0);
    expect(Number(left[0]?.[1])).toBeGreaterThanOrEqual(3);
    const withErrors = await dbt(h, [
      'run-operation',
      'cleanup_policy_executions',
      '--args',
      '{hours: 0, include_errors: true}',
    ]);
    expect(withErrors.code, withErrors.output).toBe(0);
    expect(Number((await query(h, `SELECT count(*) FROM policy_execution_state`))[0]?.[0])).toBe(0);
    const rerun = await dbt(h, ['run', '--select', 'policy_execution_model']);
    expect(rerun.code, rerun.output).toBe(0);
    expect(Number((await query(h, `SELECT count(*) FROM policy_execution_model`))[0]?.[0])).toBe(0);
  });
});

describe.each(TEST_WAREHOUSES)('dbt run-operations and the request dispatcher on %s', (warehouse) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      refresh: { debounceMs: 500, maxWaitMs: 5000 },
      dispatcher: { intervalMs: 300 },
      warehouse,
      warehouses,
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  async function followRequest(output: string): Promise<{ requestId: string; row: StateRow }> {
    const m = /request (dbt-req-[0-9a-f-]+) queued/.exec(output);
    expect(m, output).not.toBeNull();
    const requestId = m?.[1] ?? '';
    const handle = h.env.client.workflow.getHandle(requestId);
    await waitFor(
      'the dispatcher to start the workflow',
      () =>
        handle.describe().then(
          () => true,
          () => false,
        ),
      20_000,
    );
    await handle.result().catch(() => undefined);
    const row = await h.warehouse.getState(requestId);
    expect(row).not.toBeNull();
    return { requestId, row: row as StateRow };
  }

  it('dbt run-operation run_policy_workflow starts the sample policy; it completes and shows in the model', async () => {
    const op = await dbt(h, ['run-operation', 'run_policy_workflow']);
    expect(op.code, op.output).toBe(0);
    const { requestId, row } = await followRequest(op.output);
    expect(row).toMatchObject({
      status: 'completed',
      workflow_id: requestId,
      policy_id: 'd74d726c-9ca0-4c96-b9e3-755396547dce',
    });
    expect(
      row.completed &&
        row.requires_circuit_breaker &&
        row.circuit_breaker_initiated &&
        row.circuit_breaker_completed,
    ).toBe(true);
    const req = await query(
      h,
      `SELECT status, workflow_id FROM policy_execution_requests WHERE request_id = ?`,
      [requestId],
    );
    expect(req[0]).toEqual(['dispatched', requestId]);
    // Started eagerly: the first workflow task came with the start's answer, so the dispatcher's
    // client, not a polling worker, is who started it.
    const { events } = await h.env.client.workflow.getHandle(requestId).fetchHistory();
    const firstTask = events?.find((e) => e.workflowTaskStartedEventAttributes);
    expect(firstTask?.workflowTaskStartedEventAttributes?.identity).toBe(DISPATCHER_IDENTITY);
    await waitFor('the model to show it', async () => (await modelHas(h, [requestId])) === 1, 30_000);
    // The guide's run_query prints rows as a table.
    const q = await dbt(h, [
      'run-operation',
      'run_query',
      '--args',
      JSON.stringify({
        sql: `SELECT execution_id, status, poll_count FROM policy_execution_state WHERE execution_id = '${requestId}'`,
      }),
    ]);
    expect(q.code, q.output).toBe(0);
    // Column names as the warehouse spells them (Snowflake upper-cases unquoted names).
    expect(q.output).toMatch(/execution_id\s+\| status\s+\| poll_count/i);
    expect(q.output).toContain(requestId);
    expect(q.output).toMatch(/\(1 row\)/);
  });

  it('dbt run-operation run_policy_workflow --args with a custom policy and options', async () => {
    const pid = uniqueId('dbtcustom');
    h.sim.scriptPolicy(pid, { statuses: ['pending', 'success'] });
    const args = `{policy: {policy_name: custom_from_dbt, policy_type: security, description: from dbt, priority: critical, created_by: tester, expected_policy_id: ${pid}, parameters: {retention_days: 7}}, options: {maxPolls: 3, pollIntervalMs: 100}}`;
    const op = await dbt(h, ['run-operation', 'run_policy_workflow', '--args', args]);
    expect(op.code, op.output).toBe(0);
    const { requestId, row } = await followRequest(op.output);
    expect(row).toMatchObject({ status: 'completed', policy_id: pid, poll_count: 2 });
    expect(row.policy_data).toMatchObject({
      policy_name: 'custom_from_dbt',
      parameters: { retention_days: 7 },
    });
    await waitFor('the model to show it', async () => (await modelHas(h, [requestId])) === 1, 30_000);
    const m = await query(
      h,
      `SELECT policy_name, priority FROM policy_execution_model WHERE execution_id = ?`,
      [requestId],
    );
    expect(m[0]).toEqual(['custom_from_dbt', 'critical']);
  });

  it('the dispatcher under double delivery: the same request seen twice starts one workflow', async () => {
    const requestId = `dbt-req-${uniqueId('dup')}`;
    const pid = uniqueId('duppol');
    await query(h, insertRequestSql(warehouse), [
      requestId,
      JSON.stringify(policyWithId(pid)),
      JSON.stringify({ pollIntervalMs: 0, refreshModel: false }),
      new Date().toISOString().replace('T', ' ').slice(0, -1),
      null,
      'requested',
    ]);
    // Two dispatchers (as on two workers) pass over the same row at once, on top of the harness's.
    const a = new RequestDispatcher({ client: h.env.client, warehouse: h.warehouse, taskQueue: h.taskQueue });
    const b = new RequestDispatcher({ client: h.env.client, warehouse: h.warehouse, taskQueue: h.taskQueue });
    await Promise.all([a.dispatchOnce(), b.dispatchOnce()]);
    const handle = h.env.client.workflow.getHandle(requestId);
    const firstRun = (await handle.describe()).runId;
    await handle.result();
    // A crash between starting the workflow and marking the row: the row is seen again.
    await query(h, `UPDATE policy_execution_requests SET status = 'requested' WHERE request_id = ?`, [
      requestId,
    ]);
    const again = await a.dispatchOnce();
    expect(again.started).toBe(0);
    expect(again.alreadyStarted).toBeGreaterThanOrEqual(1);
    expect((await handle.describe()).runId).toBe(firstRun);
    expect(a.totals.started + b.totals.started).toBeLessThanOrEqual(1);
    const creates = h.sim.requests({ policyId: pid }).filter((r) => r.path === '/createpolicy');
    expect(creates).toHaveLength(1);
    const req = await query(
      h,
      `SELECT status, workflow_id FROM policy_execution_requests WHERE request_id = ?`,
      [requestId],
    );
    expect(req[0]).toEqual(['dispatched', requestId]);
  });
});

describe('one DuckDB file, several processes', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ refresh: { debounceMs: 300, maxWaitMs: 2000 } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('a dbt run started by hand while executions write: everything completes, nothing lost', async () => {
    const ids = Array.from({ length: 40 }, () => uniqueId('lock'));
    for (const id of ids) h.sim.scriptPolicy(id, { statuses: ['pending', 'processing', 'ready'] });
    const running = Promise.all(
      ids.map((id, i) =>
        new Promise((r) => setTimeout(r, i * 50)).then(() =>
          runExecution(h, policyWithId(id), { pollIntervalMs: 300, refreshModel: true }),
        ),
      ),
    );
    await new Promise((r) => setTimeout(r, 800));
    const manual = await dbt(h, ['run']);
    const outs = await running;
    expect(manual.code, manual.output).toBe(0);
    expect(manual.output).not.toMatch(/Could not set lock/);
    expect(outs.map((o) => o.row?.status)).toEqual(ids.map(() => 'completed'));
    expect(outs.every((o) => o.row?.poll_count === 3)).toBe(true);
    const count = await query(
      h,
      `SELECT count(*) FROM policy_execution_state WHERE execution_id IN (${marks(outs.length)})`,
      outs.map((o) => o.workflowId),
    );
    expect(Number(count[0]?.[0])).toBe(40);
    await waitFor(
      'the model to catch up',
      async () =>
        (await modelHas(
          h,
          outs.map((o) => o.workflowId),
        )) === 40,
      30_000,
    );
    expect((await refreshLog(h)).every((r) => r.success)).toBe(true);
  });
});
