/**
 * The two references, on the same simulator as the measured run:
 *  - raw: the three HTTP calls made directly by a plain async loop, all executions at once (the same
 *    concurrency as the orchestrated run, which starts all N at once), with the same API client;
 *  - blocking: the usage guide's stored procedure, one execution after another: create, poll with
 *    sleep, trigger, one row insert (its own open / transaction / close of the DuckDB file), one
 *    `dbt run --select policy_execution_model`. Run for a few executions and extrapolated.
 */
import path from 'node:path';
import { runDbt } from '../../src/dbt/runner';
import {
  classifyPolicyStatus,
  initialState,
  transition,
  type JsonValue,
  type StateRow,
} from '../../src/policy';
import type { PolicyData } from '../../src/policy/input';
import { createPolicyApiClient } from '../../src/policy-api/client';
import type { PolicyApi } from '../../src/policy-api/types';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/warehouse';
import type { BenchConfig } from './config';
import { BENCH_OPTIONS, benchPolicy } from './orchestrated';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Flow {
  row: StateRow;
  apiMs: number;
}

/** create -> poll (sleep between polls) -> trigger; the row advanced the way the workflow does. */
async function threeCalls(api: PolicyApi, id: string): Promise<Flow> {
  const policy = benchPolicy(id) as PolicyData;
  let apiMs = 0;
  const timed = async <T>(fn: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    try {
      return await fn();
    } finally {
      apiMs += performance.now() - t;
    }
  };
  const now = () => new Date().toISOString();
  let row = initialState({ executionId: id, workflowId: id, policy: policy as JsonValue, at: now() });
  const created = await timed(() =>
    api.createPolicy(policy, { idempotencyKey: `${id}:create`, executionId: id }),
  );
  row = transition(row, {
    type: 'policy_created',
    at: now(),
    policyId: created.policyId,
    response: created.raw,
  });
  let ready = false;
  for (let i = 0; i < BENCH_OPTIONS.maxPolls && !ready; i++) {
    if (i > 0) await sleep(BENCH_OPTIONS.pollIntervalMs);
    const status = await timed(() => api.getPolicyStatus(created.policyId));
    ready = classifyPolicyStatus(status.status) === 'ready';
    row = transition(row, {
      type: 'polled',
      at: now(),
      ready,
      statusText: status.status,
      response: status.raw,
    });
  }
  if (!ready) throw new Error(`${id}: policy not ready`);
  row = transition(row, { type: 'circuit_breaker_initiated', at: now() });
  const breaker = await timed(() =>
    api.triggerCircuitBreaker(
      {
        policy_id: created.policyId,
        execution_id: id,
        trigger_reason: 'policy_execution_completed',
        timestamp: now(),
      },
      { idempotencyKey: `${id}:circuit` },
    ),
  );
  row = transition(row, { type: 'circuit_breaker_completed', at: now(), response: breaker.raw });
  return { row, apiMs };
}

export interface RawResult {
  n: number;
  t0: number;
  /** Per execution: start (ms since t0) and end-to-end time. */
  ends: number[];
  e2eMs: number[];
  apiMs: number[];
  makespanMs: number;
}

export async function runRaw(cfg: BenchConfig, simulatorUrl: string, tag: string): Promise<RawResult> {
  const api = createPolicyApiClient({ baseUrl: simulatorUrl });
  try {
    // Same warm-up as the orchestrated run.
    await Promise.all(Array.from({ length: cfg.warmup }, (_, i) => threeCalls(api, `raw-${tag}-w-${i}`)));
    const t0 = Date.now();
    const ends: number[] = [];
    const e2eMs: number[] = [];
    const apiMs: number[] = [];
    await Promise.all(
      Array.from({ length: cfg.n }, async (_, i) => {
        const t = performance.now();
        const flow = await threeCalls(api, `raw-${tag}-m-${i}`);
        e2eMs.push(performance.now() - t);
        apiMs.push(flow.apiMs);
        ends.push(Date.now());
      }),
    );
    return { n: cfg.n, t0, ends, e2eMs, apiMs, makespanMs: Date.now() - t0 };
  } finally {
    await api.close();
  }
}

export interface BlockingResult {
  n: number;
  perExecutionMs: number[];
  apiMs: number[];
  insertMs: number[];
  dbtMs: number[];
  dbtFailures: number;
  totalMs: number;
}

export async function runBlocking(
  cfg: BenchConfig,
  simulatorUrl: string,
  tag: string,
  workDir: string,
): Promise<BlockingResult> {
  const api = createPolicyApiClient({ baseUrl: simulatorUrl });
  const warehousePath = path.join(workDir, 'blocking.duckdb');
  const warehouse = new DuckDbWarehouse({ path: warehousePath });
  const dbtOpts = {
    dbtBin: process.env.DBT_BIN || path.join(cfg.repoRoot, '.venv', 'bin', 'dbt'),
    projectDir: path.join(cfg.repoRoot, 'dbt'),
    warehousePath,
    targetPath: path.join(workDir, 'blocking-dbt', 'target'),
    logPath: path.join(workDir, 'blocking-dbt', 'logs'),
    timeoutMs: 600_000,
  };
  const out: BlockingResult = {
    n: cfg.baselineN,
    perExecutionMs: [],
    apiMs: [],
    insertMs: [],
    dbtMs: [],
    dbtFailures: 0,
    totalMs: 0,
  };
  try {
    await warehouse.init();
    const t0 = performance.now();
    for (let i = 0; i < cfg.baselineN; i++) {
      const t = performance.now();
      const flow = await threeCalls(api, `blocking-${tag}-${i}`);
      const tInsert = performance.now();
      await warehouse.upsertStates([flow.row]);
      const tDbt = performance.now();
      const dbt = await runDbt(['run', '--select', 'policy_execution_model'], dbtOpts);
      if (!dbt.success) out.dbtFailures += 1;
      const end = performance.now();
      out.perExecutionMs.push(end - t);
      out.apiMs.push(flow.apiMs);
      out.insertMs.push(tDbt - tInsert);
      out.dbtMs.push(end - tDbt);
    }
    out.totalMs = performance.now() - t0;
    return out;
  } finally {
    await warehouse.close();
    await api.close();
  }
}
