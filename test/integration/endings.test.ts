/**
 * Every ending a user can cause from the CLI or the Web UI, with the real dev server, simulator and
 * DuckDB table: terminate and timeout (written by the endings reconciler), reset to the first
 * workflow task and to a mid-point (the reset run supersedes the row; same idempotency keys), a reused
 * id (refused by the project CLI; `--rerun` and a raw re-start run again under new keys).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  WorkflowFailedError,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { TEMPORAL_BIN } from '../../devtools/temporal/dev-server';
import { runCli } from '../helpers/cli';
import { WORKFLOW_TYPE } from '../../src/contracts';
import type { StateRow } from '../../src/policy';
import { EndingsReconciler } from '../../src/reconciler';
import {
  FAST_RETRY,
  policyWithId,
  runExecution,
  startHarness,
  uniqueId,
  type Harness,
} from '../helpers/harness';

let h: Harness;
let reconciler: EndingsReconciler;
const fixedLog: string[] = [];

beforeAll(async () => {
  h = await startHarness({ apiTimeoutMs: 1500 });
  reconciler = new EndingsReconciler({
    client: h.env.client,
    warehouse: h.warehouse,
    lookbackMs: 10 * 60_000,
    logger: { info: (m) => fixedLog.push(m), warn: (m) => fixedLog.push(m) },
  });
});
afterAll(async () => {
  await reconciler?.stop();
  await h?.close();
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function start(
  workflowId: string,
  policy: unknown,
  options: Record<string, unknown> = {},
  extra: { workflowExecutionTimeout?: Duration } = {},
): Promise<WorkflowHandleWithFirstExecutionRunId> {
  return h.env.client.workflow.start(WORKFLOW_TYPE, {
    taskQueue: h.taskQueue,
    workflowId,
    args: [policy, { pollIntervalMs: 50, retry: FAST_RETRY, refreshModel: false, ...options }],
    ...extra,
  });
}

async function settle(handle: WorkflowHandle): Promise<void> {
  try {
    await handle.result();
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
  }
}

function temporal(args: string[]): string {
  return execFileSync(
    TEMPORAL_BIN,
    [...args, '--address', inject('temporalAddress'), '--namespace', 'default'],
    {
      encoding: 'utf8',
    },
  );
}

function committed(pid: string, path: string): { key: string | null }[] {
  return h.sim
    .requests({ policyId: pid })
    .filter((r) => r.path === path && r.committed)
    .map((r) => ({ key: r.idempotencyKey }));
}

describe('endings the workflow cannot write itself (the reconciler)', () => {
  it('terminated mid-poll: the row becomes error naming the step and the reason, for that run', async () => {
    const pid = uniqueId('pol');
    h.sim.scriptPolicy(pid, { statuses: ['pending', 'pending', 'pending'] });
    const wid = uniqueId('term');
    const handle = await start(wid, policyWithId(pid), { pollIntervalMs: 60_000 });
    await until('the first poll', async () => (await h.warehouse.getState(wid))?.poll_count === 1);
    await handle.terminate('operator stop');
    const before = await h.warehouse.getState(wid);
    expect(before?.status).toBe('policy_created');

    const pass = await reconciler.reconcileOnce();
    expect(pass.fixed.map((r) => r.execution_id)).toContain(wid);
    const row = await h.warehouse.getState(wid);
    expect(row).toMatchObject({
      status: 'error',
      error_message: 'poll policy status: terminated: operator stop',
      run_id: handle.firstExecutionRunId,
      poll_count: 1,
      policy_id: pid,
      state_version: (before?.state_version ?? 0) + 1,
    });
    expect(fixedLog.some((l) => l.includes(wid) && l.includes('terminated: operator stop'))).toBe(true);
    // A second pass (or another worker's) changes nothing.
    await reconciler.reconcileOnce();
    expect(await h.warehouse.getState(wid)).toEqual(row);
  });

  it('terminated mid-create, and a workflow execution timeout', async () => {
    const slow = uniqueId('pol');
    h.sim.scriptPolicy(slow, { latencyMs: 30_000 });
    const termId = uniqueId('term');
    const term = await start(termId, policyWithId(slow), {}, {});
    await until('the pending row', () => h.warehouse.getState(termId));
    await sleep(300);
    await term.terminate();

    const pid = uniqueId('pol');
    h.sim.scriptPolicy(pid, { statuses: ['pending', 'pending', 'pending'] });
    const toId = uniqueId('timeout');
    const timedOut = await start(
      toId,
      policyWithId(pid),
      { pollIntervalMs: 60_000 },
      { workflowExecutionTimeout: '3s' },
    );
    await settle(timedOut);
    expect((await timedOut.describe()).status.name).toBe('TIMED_OUT');

    await reconciler.reconcileOnce();
    // Without a reason of the caller's, the server gives its own ("terminated by user via frontend").
    expect(await h.warehouse.getState(termId)).toMatchObject({ status: 'error', policy_id: null });
    expect((await h.warehouse.getState(termId))?.error_message).toMatch(/^create policy: terminated: \S/);
    expect(await h.warehouse.getState(toId)).toMatchObject({
      status: 'error',
      error_message: 'poll policy status: timed out after 3 s (workflow execution timeout)',
      run_id: timedOut.firstExecutionRunId,
    });
  });

  it('polling: a terminated execution is fixed within the interval, without a call', async () => {
    const loop = new EndingsReconciler({
      client: h.env.client,
      warehouse: h.warehouse,
      intervalMs: 500,
      lookbackMs: 60_000,
    });
    loop.startPolling();
    try {
      const pid = uniqueId('pol');
      h.sim.scriptPolicy(pid, { statuses: ['pending', 'pending', 'pending'] });
      const wid = uniqueId('term');
      const handle = await start(wid, policyWithId(pid), { pollIntervalMs: 60_000 });
      await until('the first poll', async () => (await h.warehouse.getState(wid))?.poll_count === 1);
      await handle.terminate('bye');
      const row = await until(
        'the error row',
        async () => {
          const r = await h.warehouse.getState(wid);
          return r?.status === 'error' ? r : null;
        },
        10_000,
      );
      expect(row.error_message).toBe('poll policy status: terminated: bye');
    } finally {
      await loop.stop();
    }
  });
});

describe('reset: the reset run supersedes the row, with the same idempotency keys', () => {
  it('reset to the first workflow task after completion: the new run rewrites the row, the API acts once', async () => {
    const pid = uniqueId('pol');
    const out = await runExecution(h, policyWithId(pid));
    expect(out.row).toMatchObject({ status: 'completed', run_id: out.runId });
    temporal(['workflow', 'reset', '-w', out.workflowId, '--type', 'FirstWorkflowTask', '--reason', 'test']);
    const handle = h.env.client.workflow.getHandle(out.workflowId);
    const result = (await handle.result()) as StateRow;
    const newRun = (await handle.describe()).runId;
    expect(newRun).not.toBe(out.runId);
    const row = await h.warehouse.getState(out.workflowId);
    expect(row).toEqual(result);
    expect(row).toMatchObject({ status: 'completed', run_id: newRun });
    // Same keys as the first run: the API created the policy and triggered the breaker once.
    expect(committed(pid, '/createpolicy')).toEqual([{ key: `${out.workflowId}:${out.runId}:create` }]);
    expect(committed(pid, '/circuit')).toEqual([{ key: `${out.workflowId}:${out.runId}:circuit` }]);
  });

  it('reset to a mid-point of a completed execution whose reset run fails: the row says error', async () => {
    const pid = uniqueId('pol');
    const out = await runExecution(h, policyWithId(pid));
    expect(out.row?.status).toBe('completed');
    // The workflow task that followed the create: the reset run polls again, and now the policy failed.
    const history = JSON.parse(temporal(['workflow', 'show', '-w', out.workflowId, '-o', 'json'])) as {
      events: { eventId: string; eventType: string }[];
    };
    const created = history.events.findIndex((e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_COMPLETED');
    const resetAt = history.events
      .slice(created)
      .find((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED');
    expect(resetAt).toBeDefined();
    h.sim.scriptPolicy(pid, { statuses: ['failed'] });
    temporal([
      'workflow',
      'reset',
      '-w',
      out.workflowId,
      '--event-id',
      String(resetAt?.eventId),
      '--reason',
      'mid',
    ]);
    const handle = h.env.client.workflow.getHandle(out.workflowId);
    await settle(handle);
    const desc = await handle.describe();
    expect(desc.status.name).toBe('FAILED');
    const row = await h.warehouse.getState(out.workflowId);
    expect(row).toMatchObject({ status: 'error', run_id: desc.runId });
    expect(row?.error_message).toMatch(/^poll policy status: policy API reported status 'failed'/);
    expect(committed(pid, '/createpolicy')).toHaveLength(1);
  });
});

describe('a reused execution id', () => {
  let policyFile: string;
  beforeAll(() => {
    policyFile = path.join(h.tmpDir, 'policy.json');
    process.env.TEMPORAL_ADDRESS = inject('temporalAddress');
    process.env.TEMPORAL_NAMESPACE = 'default';
    process.env.POLICY_TASK_QUEUE = h.taskQueue;
  });

  it('policy-execution reconcile --since: one pass by hand fixes a terminated execution', async () => {
    process.env.WAREHOUSE_PATH = h.warehousePath;
    const pid = uniqueId('pol');
    h.sim.scriptPolicy(pid, { statuses: ['pending', 'pending', 'pending'] });
    const wid = uniqueId('term');
    const handle = await start(wid, policyWithId(pid), { pollIntervalMs: 60_000 });
    await until('the first poll', async () => (await h.warehouse.getState(wid))?.poll_count === 1);
    await handle.terminate('cleanup');
    const out = await runCli(['reconcile', '--since', '10m']);
    expect(out.code, out.out).toBe(0);
    expect(out.out).toMatch(/rows set to error/);
    expect((await h.warehouse.getState(wid))?.error_message).toBe('poll policy status: terminated: cleanup');
  });

  it('the project CLI refuses it with a clear message; --rerun runs it again under new keys', async () => {
    const pid = uniqueId('pol');
    fs.writeFileSync(policyFile, JSON.stringify(policyWithId(pid)));
    const id = uniqueId('dup');
    const first = await runCli([
      'start',
      '--policy',
      policyFile,
      '--id',
      id,
      '--poll-interval-ms',
      '50',
      '--no-refresh',
      '--wait',
    ]);
    expect(first.code, first.out).toBe(0);
    const firstRow = await h.warehouse.getState(id);
    expect(firstRow?.status).toBe('completed');

    const again = await runCli(['start', '--policy', policyFile, '--id', id]);
    expect(again.code).toBe(1);
    expect(again.out).toMatch(
      new RegExp(`execution '${id}' was already started \\(its last run .* ended completed`),
    );
    expect(again.out).toMatch(/pass --rerun to run it again/);

    const rerun = await runCli([
      'start',
      '--policy',
      policyFile,
      '--id',
      id,
      '--rerun',
      '--poll-interval-ms',
      '50',
      '--no-refresh',
      '--wait',
    ]);
    expect(rerun.code, rerun.out).toBe(0);
    const row = await h.warehouse.getState(id);
    const runId = (await h.env.client.workflow.getHandle(id).describe()).runId;
    expect(row).toMatchObject({ status: 'completed', run_id: runId });
    expect(row?.run_id).not.toBe(firstRow?.run_id);
    // Two executions as far as the API is concerned: two creates, each under its own run's key.
    const keys = committed(pid, '/createpolicy').map((c) => c.key);
    expect(keys).toEqual([`${id}:${firstRow?.run_id}:create`, `${id}:${runId}:create`]);
  });

  it('a raw re-start of a failed execution (temporal workflow start, same id) is recorded as the latest run', async () => {
    const pid = uniqueId('pol');
    h.sim.scriptPolicy(pid, { statuses: ['failed'] });
    const id = uniqueId('dup');
    const first = await start(id, policyWithId(pid));
    await settle(first);
    expect((await h.warehouse.getState(id))?.status).toBe('error');
    h.sim.scriptPolicy(pid, { statuses: ['ready'] });
    const second = await start(id, policyWithId(pid));
    await settle(second);
    expect(await h.warehouse.getState(id)).toMatchObject({
      status: 'completed',
      run_id: second.firstExecutionRunId,
    });
  });
});
