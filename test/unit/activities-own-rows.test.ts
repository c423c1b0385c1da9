/**
 * The rows an API activity writes itself (src/policy/own-rows.ts, docs/design.md decision 21): the
 * circuit breaker writes the terminal `completed` row once the API has accepted the trigger and
 * returns only the time it stamped; a pending poll before a delay writes its `polled` row the same
 * way. The workflow computes the same rows from those stamps. A terminal write that fails leaves the
 * stamp out, so the workflow writes the row itself, and the API is called once either way.
 * Real simulator over HTTP, real DuckDB files, Temporal's activity context from its test kit.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../devtools/simulator/server';
import { SAMPLE_POLICY } from '../helpers/harness';
import { createActivities } from '../../src/activities';
import type { PolicyData } from '../../src/policy/input';
import { ownRowOf } from '../../src/policy/own-rows';
import { initialState, transition, type StateRow } from '../../src/policy/state';
import { createPolicyApiClient } from '../../src/policy-api/client';
import type { PolicyApi } from '../../src/policy-api/types';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/warehouse';

const QUIET = { logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } };

let sim: Simulator;
let api: PolicyApi;
let dir: string;
beforeAll(async () => {
  sim = await startSimulator({ port: 0, quiet: true });
  api = createPolicyApiClient({ baseUrl: sim.url, timeoutMs: 2000 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'own-rows-'));
});
afterAll(async () => {
  await api?.close();
  await sim?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** The row of an execution whose policy `pid` is ready and whose circuit breaker is initiated. */
function initiatedRow(id: string, pid: string): StateRow {
  let row = initialState({
    executionId: id,
    workflowId: id,
    runId: 'r1',
    policy: { p: 1 },
    at: '2026-01-01T00:00:00.000Z',
  });
  row = transition(row, {
    type: 'policy_created',
    at: '2026-01-01T00:00:01.000Z',
    policyId: pid,
    response: {},
  });
  row = transition(row, {
    type: 'polled',
    at: '2026-01-01T00:00:02.000Z',
    ready: true,
    statusText: 'success',
    response: { status: 'success' },
  });
  return transition(row, { type: 'circuit_breaker_initiated', at: '2026-01-01T00:00:03.000Z' });
}

/** The policy `pid` exists in the simulator (the breaker is refused for an unknown policy). */
async function created(pid: string): Promise<void> {
  const policy = { ...SAMPLE_POLICY, expected_policy_id: pid };
  const out = await api.createPolicy(policy as PolicyData, {
    idempotencyKey: `${pid}:create`,
    executionId: pid,
  });
  expect(out.policyId).toBe(pid);
}

/** When `breaker` last started the activity (after the policy was created). */
let lastCalledAt = 0;

async function breaker(
  acts: ReturnType<typeof createActivities>,
  row: StateRow,
  finish?: { refresh: boolean },
): Promise<Awaited<ReturnType<ReturnType<typeof createActivities>['triggerCircuitBreaker']>>> {
  await created(row.policy_id ?? '');
  const input = {
    request: {
      policy_id: row.policy_id ?? '',
      execution_id: row.execution_id,
      trigger_reason: 'policy_execution_completed',
      timestamp: '2026-01-01T00:00:03.000Z',
    },
    idempotencyKey: `${row.execution_id}:circuit`,
    state: row,
    ...(finish ? { finish } : {}),
  };
  lastCalledAt = Date.now();
  return new MockActivityEnvironment({}, QUIET).run(
    (i: typeof input) => acts.triggerCircuitBreaker(i),
    input,
  );
}

describe('the circuit breaker writes the terminal row', () => {
  it('with `finish`: the completed row is durable when the activity returns, stamped with completedRowAt', async () => {
    const warehouse = new DuckDbWarehouse({ path: path.join(dir, 'ok.duckdb') });
    try {
      const row = initiatedRow('own-1', 'pol-own-1');
      const result = await breaker(createActivities({ api, warehouse }), row, { refresh: false });
      expect(result.completedRowAt).toMatch(/^\d{4}-\d\d-\d\dT/);
      const stored = await warehouse.getState('own-1');
      expect(stored).toMatchObject({
        status: 'completed',
        completed: true,
        circuit_breaker_completed: true,
        state_version: row.state_version + 1,
        updated_at: result.completedRowAt,
      });
      // The row the workflow computes from the stamp is the stored one.
      expect(stored).toEqual(ownRowOf('triggerCircuitBreaker', { state: row }, result));
      expect(sim.requests({ policyId: 'pol-own-1' }).filter((r) => r.path === '/circuit')).toHaveLength(1);
    } finally {
      await warehouse.close();
    }
  });

  it('stamps the row with the time its attempt started, before the API answered', async () => {
    // A late write of a run that was reset must not supersede the next run's rows (ordered by
    // updated_at across runs): the stamp is never later than the attempt's start.
    const warehouse = new DuckDbWarehouse({ path: path.join(dir, 'stamp.duckdb') });
    try {
      const row = initiatedRow('own-5', 'pol-own-5');
      sim.scriptPolicy('pol-own-5', { latencyMs: 1000 });
      const acts = createActivities({ api, warehouse });
      const result = await breaker(acts, row, { refresh: false });
      // The API took 1000 ms to answer; the stamp is from before the call.
      expect(Date.now() - lastCalledAt).toBeGreaterThanOrEqual(1000);
      expect(Date.parse(result.completedRowAt ?? '')).toBeLessThan(lastCalledAt + 700);
      expect((await warehouse.getState('own-5'))?.updated_at).toBe(result.completedRowAt);
    } finally {
      await warehouse.close();
    }
  });

  it('without `finish` (histories before the patch): only the carried row, no stamp', async () => {
    const warehouse = new DuckDbWarehouse({ path: path.join(dir, 'plain.duckdb') });
    try {
      const row = initiatedRow('own-2', 'pol-own-2');
      const result = await breaker(createActivities({ api, warehouse }), row);
      expect(result.completedRowAt).toBeUndefined();
      expect(await warehouse.getState('own-2')).toMatchObject({
        status: 'policy_ready',
        circuit_breaker_initiated: true,
        state_version: row.state_version,
      });
    } finally {
      await warehouse.close();
    }
  });

  it('a terminal write that fails: no stamp (the workflow writes the row), and the API is not called again', async () => {
    // A warehouse file in a directory that does not exist: every write fails for real.
    const warehouse = new DuckDbWarehouse({ path: path.join(dir, 'missing', 'w.duckdb') });
    try {
      const row = initiatedRow('own-3', 'pol-own-3');
      const result = await breaker(createActivities({ api, warehouse }), row, { refresh: true });
      expect(result.status).toBe('initiated');
      expect(result.completedRowAt).toBeUndefined();
      expect(sim.requests({ policyId: 'pol-own-3' }).filter((r) => r.path === '/circuit')).toHaveLength(1);
    } finally {
      await warehouse.close().catch(() => undefined);
    }
  });
});

describe('a warehouse that does not take the writes in time (held by a dbt run)', () => {
  /** A real warehouse whose file is held under its lease (as during a dbt run) until `release`. */
  function held(name: string) {
    const warehouse = new DuckDbWarehouse({ path: path.join(dir, name), lockTimeoutMs: 60_000 });
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const lease = warehouse.withLease(() => gate);
    return { warehouse, release: async () => (release(), await lease) };
  }
  /** The stored row of `id` once it reaches `status` (the writes queued behind the lease land). */
  async function landed(warehouse: DuckDbWarehouse, id: string, status: string): Promise<StateRow | null> {
    for (let i = 0; i < 100; i++) {
      const row = await warehouse.getState(id);
      if (row?.status === status) return row;
      await new Promise((r) => setTimeout(r, 50));
    }
    return warehouse.getState(id);
  }

  it('the circuit breaker returns within its write budget without the stamp (the workflow writes the row); the API is called once and the rows land later', async () => {
    const { warehouse, release } = held('held-breaker.duckdb');
    try {
      const row = initiatedRow('own-6', 'pol-own-6');
      const acts = createActivities({ api, warehouse, writeBudgetMs: 500 });
      const result = await breaker(acts, row, { refresh: false });
      expect(Date.now() - lastCalledAt).toBeLessThan(5000);
      expect(result.status).toBe('initiated');
      expect(result.completedRowAt).toBeUndefined();
      expect(sim.requests({ policyId: 'pol-own-6' }).filter((r) => r.path === '/circuit')).toHaveLength(1);
      await release();
      expect(await landed(warehouse, 'own-6', 'completed')).toMatchObject({
        state_version: row.state_version + 1,
      });
    } finally {
      await release();
      await warehouse.close();
    }
  }, 20_000);

  it('a status poll returns within its write budget, stamped, having asked the API once', async () => {
    const { warehouse, release } = held('held-poll.duckdb');
    try {
      const at = '2026-01-01T00:00:01.000Z';
      let row = initialState({ executionId: 'own-7', workflowId: 'own-7', policy: null, at });
      row = transition(row, { type: 'policy_created', at, policyId: 'pol-own-7', response: {} });
      await created('pol-own-7');
      sim.scriptPolicy('pol-own-7', { statuses: ['pending'] });
      const acts = createActivities({ api, warehouse, writeBudgetMs: 500 });
      const input = { policyId: 'pol-own-7', state: row, writePolledRow: true };
      const t0 = Date.now();
      const result: Awaited<ReturnType<typeof acts.getPolicyStatus>> = await new MockActivityEnvironment(
        {},
        QUIET,
      ).run((i: typeof input) => acts.getPolicyStatus(i), input);
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(result.polledRowAt).toMatch(/^\d{4}-/);
      expect(sim.requests({ policyId: 'pol-own-7' }).filter((r) => r.method === 'GET')).toHaveLength(1);
      await release();
      expect(await landed(warehouse, 'own-7', 'policy_created')).toMatchObject({ poll_count: 1 });
    } finally {
      await release();
      await warehouse.close();
    }
  }, 20_000);
});

describe('ownRowOf', () => {
  const row = initiatedRow('own-4', 'pol-own-4');
  it('is the completed row for a stamped breaker result, the polled row for a stamped poll', () => {
    const at = '2026-01-01T00:00:04.000Z';
    expect(
      ownRowOf('triggerCircuitBreaker', { state: row }, { raw: { ok: 1 }, completedRowAt: at }),
    ).toMatchObject({
      status: 'completed',
      circuit_breaker_response: { ok: 1 },
      updated_at: at,
    });
    let created = initialState({ executionId: 'e', workflowId: 'e', policy: null, at });
    created = transition(created, { type: 'policy_created', at, policyId: 'p', response: {} });
    expect(
      ownRowOf('getPolicyStatus', { state: created }, { status: 'pending', raw: { s: 1 }, polledRowAt: at }),
    ).toMatchObject({
      status: 'policy_created',
      poll_count: 1,
      last_poll_time: at,
      policy_status_response: { s: 1 },
    });
  });

  it("a poll handed its `base` row (it carries none): that row's next row", () => {
    const at = '2026-01-01T00:00:05.000Z';
    let base = initialState({ executionId: 'e', workflowId: 'e', policy: null, at });
    base = transition(base, { type: 'policy_created', at, policyId: 'p', response: {} });
    base = transition(base, { type: 'polled', at, ready: false, statusText: 'pending', response: {} });
    expect(
      ownRowOf('getPolicyStatus', { base }, { status: 'processing', raw: {}, polledRowAt: at }),
    ).toMatchObject({ poll_count: 2, state_version: base.state_version + 1 });
  });

  it('is undefined without a stamp, without a carried row, or for another activity', () => {
    expect(ownRowOf('triggerCircuitBreaker', { state: row }, { raw: {} })).toBeUndefined();
    expect(ownRowOf('triggerCircuitBreaker', {}, { raw: {}, completedRowAt: 'x' })).toBeUndefined();
    expect(ownRowOf('createPolicy', { state: row }, { completedRowAt: 'x' })).toBeUndefined();
    expect(ownRowOf('recordState', row, undefined)).toBeUndefined();
  });
});
