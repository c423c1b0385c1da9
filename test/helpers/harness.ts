/**
 * Integration harness: the real Temporal dev server (from globalSetup), the real policy API
 * simulator over HTTP on loopback, a real DuckDB file, and an in-process worker running the real
 * workflows and activities.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Runtime, type Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import type { BreakerOptions } from '../../src/activities';
import { WORKFLOW_TYPE, type ExecutionOptionsInput, type StateRow } from '../../src/policy';
import { createPolicyApiClient } from '../../src/policy-api/client';
import type { PolicyApi } from '../../src/policy-api/types';
import { startSimulator, type Simulator } from '../../src/simulator/server';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb';
import { createPolicyWorker } from '../../src/worker';

export const SAMPLE_POLICY = JSON.parse(
  fs.readFileSync(path.resolve(__dirname, '../../examples/sample-policy.json'), 'utf8'),
) as Record<string, unknown>;

let runtimeInstalled = false;
function installRuntimeOnce() {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  // Quiet worker logs in tests; Runtime.install may be called once per process.
  Runtime.install({
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error } as never,
  });
}

export interface Harness {
  env: TestWorkflowEnvironment;
  sim: Simulator;
  warehouse: DuckDbWarehouse;
  warehousePath: string;
  taskQueue: string;
  tmpDir: string;
  api: PolicyApi;
  worker?: Worker;
  workerDone?: Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(
  opts: { apiTimeoutMs?: number; breaker?: BreakerOptions; inProcessWorker?: boolean; token?: string } = {},
): Promise<Harness> {
  installRuntimeOnce();
  const env = await TestWorkflowEnvironment.createFromExistingServer({
    address: inject('temporalAddress'),
    namespace: 'default',
  });
  const sim = await startSimulator({ port: 0, quiet: true });
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'policy-exec-it-'));
  const warehousePath = path.join(tmpDir, 'warehouse.duckdb');
  const warehouse = new DuckDbWarehouse({ path: warehousePath });
  await warehouse.init();
  const api = createPolicyApiClient({
    baseUrl: sim.url,
    timeoutMs: opts.apiTimeoutMs ?? 1500,
    token: opts.token,
  });
  const taskQueue = `it-${path.basename(tmpDir)}`;
  const h: Harness = {
    env,
    sim,
    warehouse,
    warehousePath,
    taskQueue,
    tmpDir,
    api,
    async close() {
      if (h.worker) {
        h.worker.shutdown();
        await h.workerDone;
      }
      await api.close();
      await sim.close();
      await warehouse.close();
      await env.teardown();
      fs.rmSync(tmpDir, { recursive: true, force: true });
    },
  };
  if (opts.inProcessWorker !== false) {
    h.worker = await createPolicyWorker({
      connection: env.nativeConnection,
      namespace: 'default',
      taskQueue,
      deps: { api, warehouse, breaker: opts.breaker ?? { threshold: 0, halfOpenAfterMs: 1000 } },
    });
    h.workerDone = h.worker.run();
  }
  return h;
}

let counter = 0;
export function uniqueId(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

/** Fast retries for tests: the shape of the production policy, shorter intervals. */
export const FAST_RETRY = { maximumAttempts: 4, initialIntervalMs: 50, maximumIntervalMs: 200 };

export interface Outcome {
  workflowId: string;
  handle: WorkflowHandle;
  result?: StateRow;
  failure?: WorkflowFailedError;
  row: StateRow | null;
}

export async function runExecution(
  h: Harness,
  policy: unknown,
  options: ExecutionOptionsInput = {},
  workflowId = uniqueId('exec'),
): Promise<Outcome> {
  const handle = await h.env.client.workflow.start(WORKFLOW_TYPE, {
    taskQueue: h.taskQueue,
    workflowId,
    args: [policy, { pollIntervalMs: 50, retry: FAST_RETRY, refreshModel: false, ...options }],
  });
  const out: Outcome = { workflowId, handle, row: null };
  try {
    out.result = (await handle.result()) as StateRow;
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    out.failure = err;
  }
  out.row = await h.warehouse.getState(workflowId);
  return out;
}

/** A copy of the guide's sample policy with its own policy id, so simulator scripts don't collide. */
export function policyWithId(id: string, patch: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...SAMPLE_POLICY, expected_policy_id: id, ...patch };
}
