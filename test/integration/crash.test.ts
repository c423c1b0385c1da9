/**
 * The worker process (dist/worker.js). Crash test: SIGKILL it while an execution is polling, start a
 * new worker, and the execution completes with exactly one create and one circuit-breaker request.
 * An API call under way when its worker dies is retried after the API activities' heartbeat
 * timeout, not their whole start-to-close; a call that runs longer than that timeout keeps its
 * attempt (the activity beats). At start: a refresher an earlier version left on the dbt task queue
 * is moved to the worker's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { decodeTimeoutType } from '@temporalio/common';
import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import {
  DBT_REFRESH_WORKFLOW_TYPE,
  REFRESH_PRIORITY_KEY,
  refreshRequestedSignal,
  WORKFLOW_TYPE,
} from '../../src/contracts';
import { API_ACTIVITY_HEARTBEAT, type StateRow } from '../../src/policy';
import { FAST_RETRY, policyWithId, startHarness, uniqueId, type Harness } from '../helpers/harness';

const WORKER_JS = path.resolve(__dirname, '../../dist/worker.js');

let h: Harness;
beforeAll(async () => {
  if (!fs.existsSync(WORKER_JS)) throw new Error(`${WORKER_JS} is missing: run 'make build' first`);
  h = await startHarness({ inProcessWorker: false });
});
afterAll(async () => {
  await h?.close();
});

function startWorkerProcess(env: NodeJS.ProcessEnv = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, [WORKER_JS], {
    env: {
      ...process.env,
      ...env,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_NAMESPACE: 'default',
      POLICY_TASK_QUEUE: h.taskQueue,
      POLICY_API_URL: h.sim.url,
      WAREHOUSE_PATH: h.warehousePath,
      METRICS_PORT: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes('worker ready')) resolve(child);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`worker exited early (${code}): ${out}`)));
  });
}

async function waitFor<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('worker crash', () => {
  it('survives SIGKILL of the worker during polling', async () => {
    const pid = uniqueId('crash');
    h.sim.scriptPolicy(pid, { statuses: ['pending', 'processing', 'ready'] });
    const first = await startWorkerProcess();
    const workflowId = uniqueId('crash-exec');
    const handle = await h.env.client.workflow.start(WORKFLOW_TYPE, {
      taskQueue: h.taskQueue,
      workflowId,
      args: [policyWithId(pid), { pollIntervalMs: 1500, retry: FAST_RETRY, refreshModel: false }],
    });
    // Wait until the first poll is recorded, then kill the worker in the middle of polling.
    await waitFor(async () => {
      const row = await h.warehouse.getState(workflowId);
      return row && row.poll_count >= 1 ? row : undefined;
    }, 'the first poll');
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));

    const second = await startWorkerProcess();
    try {
      const result = (await handle.result()) as StateRow;
      expect(result.status).toBe('completed');
      const row = await h.warehouse.getState(workflowId);
      expect(row).toMatchObject({
        status: 'completed',
        poll_count: 3,
        completed: true,
        circuit_breaker_completed: true,
      });
      const reqs = h.sim.requests({ policyId: pid });
      expect(reqs.filter((r) => r.path === '/createpolicy')).toHaveLength(1);
      expect(reqs.filter((r) => r.path === '/circuit')).toHaveLength(1);
    } finally {
      second.kill('SIGTERM');
      await new Promise((r) => second.once('exit', r));
    }
  });
});

/** How each attempt of the status poll before the last started: attempt, and why the one before ended. */
async function pollAttempts(handle: WorkflowHandle) {
  const history = await handle.fetchHistory();
  const scheduled = new Map<string, string | undefined>();
  const attempts: { attempt: number; lastFailure: string | undefined; timeoutType: string | undefined }[] =
    [];
  for (const e of history.events ?? []) {
    const sched = e.activityTaskScheduledEventAttributes;
    if (sched) scheduled.set(String(e.eventId), sched.activityType?.name ?? undefined);
    const started = e.activityTaskStartedEventAttributes;
    if (started && scheduled.get(String(started.scheduledEventId)) === 'getPolicyStatus')
      attempts.push({
        attempt: started.attempt ?? 0,
        lastFailure: started.lastFailure?.message ?? undefined,
        timeoutType: decodeTimeoutType(started.lastFailure?.timeoutFailureInfo?.timeoutType),
      });
  }
  return attempts;
}

describe('an API call under way', () => {
  it('is retried after the heartbeat timeout when its worker dies', async () => {
    const pid = uniqueId('lost-call');
    // The first status poll never answers: the worker is mid-call when it is killed.
    h.sim.scriptPolicy(pid, { statuses: ['ready'], faults: [{ on: 'status', kind: 'hang' }] });
    const first = await startWorkerProcess();
    const workflowId = uniqueId('lost-call-exec');
    const handle = await h.env.client.workflow.start(WORKFLOW_TYPE, {
      taskQueue: h.taskQueue,
      workflowId,
      args: [policyWithId(pid), { retry: FAST_RETRY, refreshModel: false }],
    });
    await waitFor(
      () => Promise.resolve(h.sim.requests({ policyId: pid }).find((r) => r.method === 'GET')),
      'the status poll',
    );
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const second = await startWorkerProcess();
    try {
      expect(((await handle.result()) as StateRow).status).toBe('completed');
      const polls = await pollAttempts(handle);
      expect(polls).toHaveLength(1);
      expect(polls[0]).toMatchObject({ attempt: 2, timeoutType: 'HEARTBEAT' });
      expect(h.sim.requests({ policyId: pid }).filter((r) => r.method === 'GET')).toHaveLength(2);
    } finally {
      second.kill('SIGTERM');
      await new Promise((r) => second.once('exit', r));
    }
  });

  it('keeps its attempt while it runs longer than the heartbeat timeout', async () => {
    const pid = uniqueId('slow-call');
    h.sim.scriptPolicy(pid, { statuses: ['ready'], faults: [{ on: 'status', kind: 'hang' }] });
    // The client gives up on the hanging poll only after the heartbeat timeout has passed.
    const deadlineMs = API_ACTIVITY_HEARTBEAT.timeoutMs + 5_000;
    const worker = await startWorkerProcess({ POLICY_API_TIMEOUT_MS: String(deadlineMs) });
    try {
      const handle = await h.env.client.workflow.start(WORKFLOW_TYPE, {
        taskQueue: h.taskQueue,
        workflowId: uniqueId('slow-call-exec'),
        args: [policyWithId(pid), { retry: FAST_RETRY, refreshModel: false }],
      });
      expect(((await handle.result()) as StateRow).status).toBe('completed');
      // The first attempt ended by the client's own deadline (a failure it reported), not by Temporal.
      const polls = await pollAttempts(handle);
      expect(polls).toHaveLength(1);
      expect(polls[0]?.attempt).toBe(2);
      expect(polls[0]?.timeoutType).toBeUndefined();
      expect(polls[0]?.lastFailure).toMatch(/time/i);
    } finally {
      worker.kill('SIGTERM');
      await new Promise((r) => worker.once('exit', r));
    }
  });
});

describe('worker start', () => {
  it("moves a refresher an earlier version left on the dbt task queue to the worker's", async () => {
    const workflowId = uniqueId('old-refresher');
    const dbtQueue = `${h.taskQueue}-dbt`;
    await h.env.client.workflow.signalWithStart(DBT_REFRESH_WORKFLOW_TYPE, {
      workflowId,
      taskQueue: dbtQueue,
      args: [{ dbtTaskQueue: dbtQueue }],
      signal: refreshRequestedSignal,
      signalArgs: [{ count: 1 }],
    });
    const old = await h.env.client.workflow.getHandle(workflowId).describe();
    const worker = await startWorkerProcess({ DBT_REFRESH_WORKFLOW_ID: workflowId });
    try {
      const moved = await waitFor(async () => {
        const d = await h.env.client.workflow.getHandle(workflowId).describe();
        return d.runId !== old.runId ? d : undefined;
      }, 'the refresher to be moved');
      expect(moved.taskQueue).toBe(h.taskQueue);
      expect(moved.raw.workflowExecutionInfo?.priority?.priorityKey).toBe(REFRESH_PRIORITY_KEY);
      const ended = await h.env.client.workflow.getHandle(workflowId, old.runId).describe();
      expect(ended.status.name).toBe('TERMINATED');
    } finally {
      worker.kill('SIGTERM');
      await new Promise((r) => worker.once('exit', r));
      await h.env.client.workflow
        .getHandle(workflowId)
        .terminate('test finished')
        .catch(() => undefined);
    }
  });
});
