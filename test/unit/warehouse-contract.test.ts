/**
 * The `Warehouse` contract, run for every adapter against a real warehouse (test/helpers/warehouses.ts):
 * a DuckDB file, and a schema on the Snowflake emulator (started once for this file). Whatever
 * differs by adapter (file locks, Snowflake sessions and errors, the SQL text) is in
 * warehouse-duckdb.test.ts and warehouse-snowflake.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { initialState, transition, type StateRow } from '../../src/policy/state';
import type { Warehouse } from '../../src/warehouse/types';
import {
  insertRequestSql,
  TEST_WAREHOUSES,
  useWarehouses,
  type TestWarehouse,
  type WarehouseKind,
} from '../helpers/warehouses';

const INJECTION = `'; DROP TABLE policy_execution_state; --`;
const warehouses = useWarehouses();

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

/** A JSON field of a VARIANT / JSON column as text, in the warehouse's own syntax. */
function jsonField(kind: WarehouseKind, column: string, field: string): string {
  return kind === 'duckdb' ? `${column}->>'${field}'` : `${column}:${field}::varchar`;
}

describe.each(TEST_WAREHOUSES)('Warehouse contract on %s', (kind) => {
  const opened: Warehouse[] = [];
  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((wh) => wh.close()));
  });
  async function fresh(opts: { maxBatchRows?: number } = {}): Promise<{ w: TestWarehouse; wh: Warehouse }> {
    const w = await warehouses.create(kind);
    const wh = w.open(opts);
    opened.push(wh);
    return { w, wh };
  }
  function another(w: TestWarehouse): Warehouse {
    const wh = w.open();
    opened.push(wh);
    return wh;
  }

  describe('tables', () => {
    it('init creates the tables; idempotent, also from a second adapter', async () => {
      const { w, wh } = await fresh();
      await wh.init();
      await wh.init();
      await another(w).init();
      expect(await wh.countRows('policy_execution_state')).toBe(0);
      expect(await wh.countRows('policy_execution_requests')).toBe(0);
      expect(await wh.countRows('policy_model_refresh_log')).toBe(0);
      expect(await wh.countRows('policy_execution_model')).toBeNull();
      await expect(wh.countRows('x; DROP TABLE policy_execution_state')).rejects.toThrow(/not a table name/);
    });

    it('init adds the columns a table created by an earlier version lacks, keeping its rows', async () => {
      const w = await warehouses.create(kind);
      await w.query(
        `CREATE TABLE policy_model_refresh_log (refresh_id VARCHAR PRIMARY KEY, success BOOLEAN)`,
      );
      await w.query(`INSERT INTO policy_model_refresh_log VALUES ('old-1', true)`);
      const wh = another(w);
      await wh.init();
      expect(
        await w.query(`SELECT refresh_id, model_rows, workflow_id FROM policy_model_refresh_log`),
      ).toEqual([['old-1', null, null]]);
    });
  });

  describe('rows', () => {
    it('round-trips every field: JSON values, nulls, unicode and SQL text stored verbatim', async () => {
      const { w, wh } = await fresh();
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
        error_message: `it's "quoted"\nnew line\t${INJECTION} back\\slash`,
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
      const stored = await w.query(
        `SELECT error_message, ${jsonField(kind, 'policy_data', 'sql')} FROM policy_execution_state WHERE state_version = 7`,
      );
      expect(stored).toEqual([[full.error_message, INJECTION]]);
    });

    it('normalizes timestamps to naive UTC and reads them back as ISO ...Z', async () => {
      const { wh } = await fresh();
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

    it('listStates returns most recent first, honouring limit; statesOfWorkflows finds rows by workflow', async () => {
      const { wh } = await fresh();
      expect(await wh.listStates()).toEqual([]);
      await wh.upsertStates([
        baseRow('old', { start_time: '2026-01-01T00:00:00.000Z' }),
        baseRow('new', { start_time: '2026-03-01T00:00:00.000Z' }),
        baseRow('mid', { start_time: '2026-02-01T00:00:00.000Z' }),
      ]);
      expect((await wh.listStates()).map((r) => r.execution_id)).toEqual(['new', 'mid', 'old']);
      expect((await wh.listStates({ limit: 2 })).map((r) => r.execution_id)).toEqual(['new', 'mid']);
      expect(await wh.listStates({ limit: 0 })).toEqual([]);
      await expect(wh.listStates({ limit: -1 })).rejects.toThrow(RangeError);
      expect(await wh.statesOfWorkflows([])).toEqual([]);
      const found = await wh.statesOfWorkflows(['wf-old', 'wf-new', 'wf-none']);
      expect(found.map((r) => r.execution_id).sort()).toEqual(['new', 'old']);
    });

    it('version guard: an older state_version never overwrites a newer one', async () => {
      const { wh } = await fresh();
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
      const { wh } = await fresh();
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
      const { wh } = await fresh();
      const results = await Promise.allSettled([
        wh.upsertStates([baseRow('ok-1')]),
        wh.upsertStates([baseRow('bad', { start_time: 'not a time' })]),
        wh.upsertStates([baseRow('bad2', { state_version: 1.5 })]),
        wh.upsertStates([baseRow('ok-2')]),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
      expect((await wh.listStates()).map((r) => r.execution_id).sort()).toEqual(['ok-1', 'ok-2']);
    });

    it('two adapters writing interleaved versions of the same rows at once never move a row backwards', async () => {
      const { w, wh: a } = await fresh();
      const b = another(w);
      const watcher = another(w);
      await a.init();
      const ids = Array.from({ length: 12 }, (_, i) => `race-${i}`);
      const highest = new Map<string, number>();
      const seen = new Map<string, number>();
      const backwards: string[] = [];
      let writing = true;
      const watching = (async () => {
        while (writing) {
          for (const row of await watcher.statesOfWorkflows(ids.map((id) => `wf-${id}`))) {
            const before = seen.get(row.execution_id) ?? 0;
            if (row.state_version < before)
              backwards.push(`${row.execution_id}: ${before} -> ${row.state_version}`);
            seen.set(row.execution_id, Math.max(before, row.state_version));
          }
        }
      })();
      let seed = 7;
      const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
      for (let round = 0; round < 4; round++) {
        await Promise.all(
          [a, b].map(async (wh, side) => {
            const rows = ids.map((id) => {
              const v = 1 + Math.floor(random() * 20);
              highest.set(id, Math.max(highest.get(id) ?? 0, v));
              return baseRow(id, { state_version: v, message: `side ${side} v${v}` });
            });
            // Several calls per side, so each adapter coalesces them and the two interleave.
            await Promise.all([0, 4, 8].map((i) => wh.upsertStates(rows.slice(i, i + 4))));
          }),
        );
      }
      writing = false;
      await watching;
      expect(backwards).toEqual([]);
      const final = await a.statesOfWorkflows(ids.map((id) => `wf-${id}`));
      expect(Object.fromEntries(final.map((r) => [r.execution_id, r.state_version]))).toEqual(
        Object.fromEntries(highest),
      );
      expect(
        final.every(
          (r) => r.message === `side 0 v${r.state_version}` || r.message === `side 1 v${r.state_version}`,
        ),
      ).toBe(true);
    });
  });

  describe('batching', () => {
    it('coalesces 200 concurrent upserts into a few statements', async () => {
      const { wh } = await fresh();
      await wh.init();
      const before = wh.stats();
      await Promise.all(Array.from({ length: 200 }, (_, i) => wh.upsertStates([baseRow(`e-${i}`)])));
      const after = wh.stats();
      const statements = after.statements - before.statements;
      expect(statements).toBeGreaterThanOrEqual(1);
      expect(statements).toBe(after.batches - before.batches);
      expect(statements).toBeLessThanOrEqual(3);
      expect(after.rowsWritten - before.rowsWritten).toBe(200);
      const rows = await wh.listStates({ limit: 1000 });
      expect(new Set(rows.map((r) => r.execution_id)).size).toBe(200);
    });

    it('keeps batches within maxBatchRows', async () => {
      const { wh } = await fresh({ maxBatchRows: 50 });
      await wh.init();
      const before = wh.stats();
      // One call larger than the limit: one batch, split into statements of <= 50 rows.
      await wh.upsertStates(Array.from({ length: 120 }, (_, i) => baseRow(`big-${i}`)));
      const after = wh.stats();
      expect(after.batches - before.batches).toBe(1);
      expect(after.statements - before.statements).toBe(3);
      // Many small calls: batches of at most 50 rows each.
      await Promise.all(Array.from({ length: 120 }, (_, i) => wh.upsertStates([baseRow(`small-${i}`)])));
      const afterSmall = wh.stats();
      expect(afterSmall.batches - after.batches).toBeGreaterThanOrEqual(3);
      expect(afterSmall.batches - after.batches).toBeLessThanOrEqual(4);
      expect((await wh.listStates({ limit: 1000 })).length).toBe(240);
    });

    it('drains queued writes on close(), then refuses new ones', async () => {
      const { w, wh } = await fresh();
      const other = another(w);
      const ops = Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0 ? wh.upsertStates([baseRow(`s-${i}`)]) : other.listStates(),
      );
      const writes = Array.from({ length: 10 }, (_, i) => other.upsertStates([baseRow(`late-${i}`)]));
      await other.close();
      await Promise.all([...ops, ...writes]);
      expect((await wh.listStates({ limit: 100 })).length).toBe(20);
      await expect(other.upsertStates([baseRow('after-close')])).rejects.toThrow(/closed/);
    });

    it('withLease runs its function and returns its result', async () => {
      const { wh } = await fresh();
      expect(await wh.withLease(() => Promise.resolve(42))).toBe(42);
    });
  });

  describe('the request table and the refresh log', () => {
    it('pendingRequests lists requested rows oldest first; markRequests changes only rows still requested', async () => {
      const { w, wh } = await fresh();
      await wh.init();
      const insert = (id: string, at: string, options: unknown, status = 'requested') =>
        w.query(insertRequestSql(kind), [
          id,
          JSON.stringify({ policy_name: id, n: [1, 2] }),
          options === null ? null : JSON.stringify(options),
          at,
          'dbt_user',
          status,
        ]);
      await insert('r2', '2026-01-01 00:00:02', { maxPolls: 5 });
      await insert('r1', '2026-01-01 00:00:01', null);
      await insert('r3', '2026-01-01 00:00:00', null, 'dispatched');
      await insert('r4', '2026-01-01 00:00:03', null);

      const pending = await wh.pendingRequests();
      expect(pending.map((r) => r.request_id)).toEqual(['r1', 'r2', 'r4']);
      expect(pending[1]).toEqual({
        request_id: 'r2',
        policy: { policy_name: 'r2', n: [1, 2] },
        options: { maxPolls: 5 },
        requested_at: '2026-01-01T00:00:02.000Z',
        requested_by: 'dbt_user',
      });
      expect(pending[0]?.options).toBeNull();
      expect((await wh.pendingRequests(2)).map((r) => r.request_id)).toEqual(['r1', 'r2']);

      await wh.markRequests([
        { requestId: 'r1', status: 'dispatched', workflowId: 'r1' },
        { requestId: 'r2', status: 'retry', error: 'temporal unreachable' },
        { requestId: 'r3', status: 'dispatched', workflowId: 'not-this' },
      ]);
      const state = async () =>
        Object.fromEntries(
          (
            await w.query(
              `SELECT request_id, status, workflow_id, dispatch_error, dispatched_at IS NOT NULL FROM policy_execution_requests`,
            )
          ).map(([id, ...rest]) => [String(id), rest]),
        );
      expect(await state()).toEqual({
        r1: ['dispatched', 'r1', null, true],
        r2: ['requested', null, 'temporal unreachable', false],
        r3: ['dispatched', null, null, false],
        r4: ['requested', null, null, false],
      });
      expect((await wh.pendingRequests()).map((r) => r.request_id)).toEqual(['r2', 'r4']);
      await wh.markRequests([{ requestId: 'r2', status: 'dispatched', workflowId: 'r2' }]);
      expect((await state()).r2).toEqual(['dispatched', 'r2', null, true]);
      await wh.markRequests([]);
    });

    it('recordRefresh appends a run once, whatever the retries', async () => {
      const { w, wh } = await fresh();
      const entry = {
        refresh_id: 'refresh-1:a1',
        started_at: '2026-01-01T00:00:00.000Z',
        finished_at: '2026-01-01T00:00:01.250Z',
        success: false,
        duration_ms: 1250.4,
        rows_affected: null,
        model_rows: 12,
        requests: 3,
        error: 'x'.repeat(5000),
        workflow_id: 'policy-model-refresh',
      };
      await wh.recordRefresh(entry);
      await wh.recordRefresh({ ...entry, success: true });
      const rows = await w.query(
        `SELECT refresh_id, success, duration_ms, rows_affected, model_rows, requests, LENGTH(error), workflow_id
           FROM policy_model_refresh_log`,
      );
      expect(rows.map((r) => r.map((v) => (typeof v === 'bigint' ? Number(v) : v)))).toEqual([
        ['refresh-1:a1', false, 1250, null, 12, 3, 4000, 'policy-model-refresh'],
      ]);
    });
  });
});
