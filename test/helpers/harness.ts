/**
 * Integration harness: the real Temporal dev server (from globalSetup), the real policy API
 * simulator over HTTP on loopback, a real warehouse (a DuckDB file, or with `warehouse: 'snowflake'`
 * a schema on the test file's Snowflake emulator: test/helpers/warehouses.ts), and an in-process
 * worker running the real workflows and activities.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Runtime, type Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import type { BreakerOptions } from '../../src/activities';
import type { RefreshTarget } from '../../src/activities/refresh-asks';
import { refreshStatusQuery, WORKFLOW_TYPE, type RefreshStatus } from '../../src/contracts';
import type { ExecutionOptionsInput, StateRow } from '../../src/policy';
import { createPolicyApiClient } from '../../src/policy-api/client';
import type { PolicyApi } from '../../src/policy-api/types';
import { startSimulator, type Simulator } from '../../devtools/simulator/server';
import type { Warehouse } from '../../src/warehouse/types';
import type { BatchObserver } from '../../src/warehouse/batch-writer';
import { REPO_ROOT } from '../../src/config';
import { defaultDbtBin } from '../../src/dbt/runner';
import { RequestDispatcher } from '../../src/dispatcher';
import type { DbtExecutor } from '../../src/dbt/daemon';
import { createDbtWorker, createPolicyWorker, dbtExecutor, refreshTarget } from '../../src/worker';
import { duckDbTestWarehouse, type TestWarehouse, type WarehouseKind, type Warehouses } from './warehouses';

export { REPO_ROOT };
export const DBT_BIN = defaultDbtBin(REPO_ROOT);
export const DBT_PROJECT_DIR = path.join(REPO_ROOT, 'dbt');
/** The identity of the harness dispatcher's client (`dispatcher` option). */
export const DISPATCHER_IDENTITY = 'policy-execution-test-dispatcher';

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
  /** The worker's warehouse adapter. */
  warehouse: Warehouse;
  /** The warehouse itself: SQL straight to it, what a hand-started dbt needs. */
  db: TestWarehouse;
  /** The DuckDB file (DuckDB only). */
  warehousePath?: string;
  taskQueue: string;
  tmpDir: string;
  api: PolicyApi;
  worker?: Worker;
  workerDone?: Promise<void>;
  /** With `refresh`: the dbt worker and the refresher's workflow id. */
  dbtWorker?: Worker;
  dbtWorkerDone?: Promise<void>;
  refreshWorkflowId?: string;
  /** With `refresh`: where a policy worker sends its refresh asks (for a worker of the test's own). */
  refreshTarget?: RefreshTarget;
  dbt?: DbtExecutor;
  dispatcher?: RequestDispatcher;
  close(): Promise<void>;
}

export interface HarnessOptions {
  apiTimeoutMs?: number;
  breaker?: BreakerOptions;
  inProcessWorker?: boolean;
  token?: string;
  /** Run the real model refresh: dbtRefresh workflow + a dbt worker running the real dbt CLI. */
  refresh?: { debounceMs?: number; maxWaitMs?: number };
  /** Run the request dispatcher, polling every intervalMs. */
  dispatcher?: { intervalMs: number };
  /** Default duckdb (a file in the harness's temp dir); snowflake needs `warehouses`. */
  warehouse?: WarehouseKind;
  /** The test file's warehouses (useWarehouses()). */
  warehouses?: Warehouses;
  /** false: the test file installed the Temporal runtime itself (e.g. with a metrics endpoint). */
  installRuntime?: boolean;
  /** Sees the worker's warehouse write batches (metrics). */
  onBatch?: BatchObserver;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  if (opts.installRuntime !== false) installRuntimeOnce();
  const env = await TestWorkflowEnvironment.createFromExistingServer({
    address: inject('temporalAddress'),
    namespace: 'default',
  });
  const sim = await startSimulator({ port: 0, quiet: true });
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'policy-exec-it-'));
  const kind = opts.warehouse ?? 'duckdb';
  if (kind === 'snowflake' && !opts.warehouses) throw new Error("warehouse: 'snowflake' needs `warehouses`");
  const db =
    kind === 'snowflake' && opts.warehouses
      ? await opts.warehouses.create('snowflake')
      : duckDbTestWarehouse(path.join(tmpDir, 'warehouse.duckdb'));
  const warehousePath = db.config.kind === 'duckdb' ? db.config.path : undefined;
  const warehouse = db.open({ component: 'worker', onBatch: opts.onBatch });
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
    db,
    warehousePath,
    taskQueue,
    tmpDir,
    api,
    async close() {
      await h.dispatcher?.stop();
      if (h.refreshWorkflowId) {
        await env.client.workflow
          .getHandle(h.refreshWorkflowId)
          .terminate('test finished')
          .catch(() => undefined);
      }
      if (h.dbtWorker) {
        h.dbtWorker.shutdown();
        await h.dbtWorkerDone;
      }
      await h.dbt?.close();
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
  const dbtConfig = opts.refresh
    ? {
        taskQueue: `${taskQueue}-dbt`,
        refresherTaskQueue: taskQueue,
        workflowId: `refresh-${taskQueue}`,
        projectDir: DBT_PROJECT_DIR,
        dbtBin: DBT_BIN,
        workDir: path.join(tmpDir, 'dbt-worker'),
        target: db.kind,
        debounceMs: opts.refresh.debounceMs ?? 1000,
        maxWaitMs: opts.refresh.maxWaitMs ?? 10_000,
        askIntervalMs: 1000,
        runTimeoutMs: 300_000,
        mode: 'daemon' as const,
      }
    : null;
  if (dbtConfig) h.refreshTarget = refreshTarget(env.client, dbtConfig);
  if (opts.inProcessWorker !== false) {
    h.worker = await createPolicyWorker({
      connection: env.nativeConnection,
      namespace: 'default',
      taskQueue,
      deps: {
        api,
        warehouse,
        breaker: opts.breaker ?? { threshold: 0, halfOpenAfterMs: 1000 },
        refresh: h.refreshTarget,
      },
    });
    h.workerDone = h.worker.run();
  }
  if (dbtConfig) {
    h.refreshWorkflowId = dbtConfig.workflowId;
    h.dbtWorker = await createDbtWorker({
      connection: env.nativeConnection,
      namespace: 'default',
      taskQueue: dbtConfig.taskQueue,
      deps: { warehouse, dbt: (h.dbt = dbtExecutor(dbtConfig, db.config)) },
    });
    h.dbtWorkerDone = h.dbtWorker.run();
    void h.dbt?.prepare();
  }
  if (opts.dispatcher) {
    // As in the worker process: a client on the worker's own connection, starting eagerly. Its own
    // identity shows in an eagerly started execution's first WorkflowTaskStarted event.
    h.dispatcher = new RequestDispatcher({
      client: new Client({
        connection: env.nativeConnection,
        namespace: 'default',
        identity: DISPATCHER_IDENTITY,
      }),
      warehouse,
      taskQueue,
      intervalMs: opts.dispatcher.intervalMs,
      eagerStart: true,
    });
    h.dispatcher.startPolling();
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
  /** The first run's id: the run chain its idempotency keys name. */
  runId: string;
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
  const out: Outcome = { workflowId, runId: handle.firstExecutionRunId, handle, row: null };
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

/** The harness's refresher, as its `refreshStatus` query answers. */
export function refresherStatus(h: Harness): Promise<RefreshStatus> {
  return h.env.client.workflow.getHandle(h.refreshWorkflowId ?? '').query(refreshStatusQuery);
}

/** Polls `fn` every 200 ms until it answers something truthy; throws naming `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A promise and its resolve, for a test to hold a step and let it go. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
