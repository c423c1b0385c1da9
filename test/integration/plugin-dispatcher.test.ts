/**
 * The Temporal plugin's request dispatcher on a real worker (the real dev server, the simulator, a
 * DuckDB file the plugin opens itself): a request queued before the worker starts is started by the
 * plugin's dispatcher, eagerly when the plugin's client is on the worker's own connection (its
 * first workflow task is then recorded as started by that client), and as a plain start with a
 * client on another connection (eager start would be refused there: the start must still work);
 * with `dispatcher.concurrency`, that many starts in flight at once and every request started once.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, type WorkflowClientInterceptor } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyExecutionPlugin } from '../../src/plugin/worker-plugin';
import { policyWithId, startHarness, uniqueId, waitFor, type Harness } from '../helpers/harness';
import { duckDbTestWarehouse, insertRequestSql } from '../helpers/warehouses';

const WORKER_IDENTITY = 'plugin-test-worker';
let h: Harness;
let dir: string;

beforeAll(async () => {
  // The harness only for the dev server, the simulator and the runtime: the plugin runs the worker.
  h = await startHarness({ inProcessWorker: false });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pe-plugin-dispatch-'));
});
afterAll(async () => {
  await h?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** A DuckDB file with the plugin's tables (as the worker makes them) and `n` requests queued in it. */
async function fileWithRequests(n: number): Promise<{ file: string; requestIds: string[] }> {
  const requestIds = Array.from({ length: n }, () => `dbt-req-${uniqueId('plugin')}`);
  const file = path.join(dir, `${requestIds[0]}.duckdb`);
  const db = duckDbTestWarehouse(file);
  const tables = db.open();
  await tables.init();
  await tables.close();
  for (const requestId of requestIds) {
    await db.query(insertRequestSql('duckdb'), [
      requestId,
      JSON.stringify(policyWithId(uniqueId('pluginpol'))),
      JSON.stringify({ pollIntervalMs: 0, refreshModel: false }),
      new Date().toISOString().replace('T', ' ').slice(0, -1),
      null,
      'requested',
    ]);
  }
  return { file, requestIds };
}

function pluginOn(file: string, client: Client | undefined, concurrency?: number): PolicyExecutionPlugin {
  return new PolicyExecutionPlugin({
    policyApi: { url: h.sim.url },
    warehouse: { kind: 'duckdb', path: file },
    modelRefresh: false,
    reconciler: false,
    dispatcher: { intervalMs: 200, ...(concurrency ? { concurrency } : {}) },
    workflowsEntryDir: path.join(dir, 'entry'),
    ...(client ? { client } : {}),
  });
}

/** Queue one request, run a worker with the plugin until it completes; the first task's starter. */
async function dispatchedBy(client: Client | undefined): Promise<string | null | undefined> {
  const {
    file,
    requestIds: [requestId = ''],
  } = await fileWithRequests(1);
  const plugin = pluginOn(file, client);
  try {
    const worker = await Worker.create({
      connection: h.env.nativeConnection,
      namespace: 'default',
      taskQueue: `it-plugin-${uniqueId('q')}`,
      identity: WORKER_IDENTITY,
      plugins: [plugin],
    });
    const handle = h.env.client.workflow.getHandle(requestId);
    await worker.runUntil(async () => {
      await waitForStart(requestId);
      await handle.result();
    });
    const { events } = await handle.fetchHistory();
    return events?.find((e) => e.workflowTaskStartedEventAttributes)?.workflowTaskStartedEventAttributes
      ?.identity;
  } finally {
    await plugin.close();
  }
}

describe("the plugin's dispatcher", () => {
  it("starts eagerly with a client on the worker's own connection", async () => {
    const client = new Client({
      connection: h.env.nativeConnection,
      namespace: 'default',
      identity: 'plugin-test-dispatcher',
    });
    expect(await dispatchedBy(client)).toBe('plugin-test-dispatcher');
  });

  it('starts plainly with a client on another connection; a polling worker takes the first task', async () => {
    expect(await dispatchedBy(h.env.client)).toBe(WORKER_IDENTITY);
  });

  it('keeps `concurrency` starts in flight at once; every request started and marked', async () => {
    const { file, requestIds } = await fileWithRequests(12);
    // Counts the starts between their call and the server's answer (the real client's interceptor).
    let inFlight = 0;
    let most = 0;
    const counting: WorkflowClientInterceptor = {
      async start(input, next) {
        most = Math.max(most, ++inFlight);
        try {
          return await next(input);
        } finally {
          inFlight -= 1;
        }
      },
    };
    const client = new Client({
      connection: h.env.connection,
      namespace: 'default',
      interceptors: { workflow: [counting] },
    });
    const plugin = pluginOn(file, client, 4);
    try {
      const worker = await Worker.create({
        connection: h.env.nativeConnection,
        namespace: 'default',
        taskQueue: `it-plugin-${uniqueId('q')}`,
        plugins: [plugin],
      });
      await worker.runUntil(async () => {
        for (const id of requestIds) await waitForStart(id);
        await Promise.all(requestIds.map((id) => h.env.client.workflow.getHandle(id).result()));
      });
    } finally {
      await plugin.close();
    }
    expect(most).toBe(4);
    const db = duckDbTestWarehouse(file);
    const rows = await db.query(
      `SELECT request_id, status, workflow_id FROM policy_execution_requests ORDER BY request_id`,
    );
    expect(rows).toEqual([...requestIds].sort().map((id) => [id, 'dispatched', id]));
  });
});

async function waitForStart(requestId: string): Promise<void> {
  const handle = h.env.client.workflow.getHandle(requestId);
  await waitFor(
    `the dispatcher to start ${requestId}`,
    () =>
      handle.describe().then(
        () => true,
        () => false,
      ),
    30_000,
  );
}
