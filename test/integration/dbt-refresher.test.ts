/**
 * The model refresher's own timing, with the real parts (dev server, simulator, a DuckDB file, the
 * real dbt): an ask made long before the refresher sees it, the refresher's own workflow task
 * timeout (also after continue-as-new), a refresher an earlier version left on the dbt task queue,
 * a dbt attempt recorded started and never delivered (the heartbeat timeout) and a dbt run longer
 * than that timeout that keeps its attempt.
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sendRefreshAsk } from '../../src/activities/refresh-asks';
import { createDbtWorker, moveRefresher } from '../../src/plugin/dbt-worker';
import {
  DBT_HEARTBEAT,
  DBT_REFRESH_WORKFLOW_TYPE,
  REFRESH_PRIORITY_KEY,
  REFRESH_WORKFLOW_TASK_TIMEOUT_MS,
  refreshRequestedSignal,
  refreshStatusQuery,
} from '../../src/contracts';
import { durationMs } from '../../src/reconciler';
import { deferred, refresherStatus, startHarness, uniqueId, waitFor, type Harness } from '../helpers/harness';

describe("the refresher's own timing", () => {
  let h: Harness;
  beforeAll(async () => {
    // A debounce as long as the longest wait: only an ask's own time can make a batch due sooner.
    h = await startHarness({ refresh: { debounceMs: 60_000, maxWaitMs: 60_000 } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('an ask made long before the refresher sees it is served at once; a fresh one waits', async () => {
    const target = h.refreshTarget;
    if (!target) throw new Error('no refresh target');
    // As a worker's signal says after its ask waited (held back, or the refresher's workflow task
    // lost and retried by Temporal): made 61 s ago, i.e. already past the 60 s longest wait.
    const sent = Date.now();
    await sendRefreshAsk(target, 2, 5000, sent - 61_000);
    const served = await waitFor(
      'the old asks to be served',
      async () => (await refresherStatus(h)).requestsServed === 2,
      40_000,
    );
    expect(served).toBe(true);
    expect(Date.now() - sent).toBeLessThan(40_000);
    // A fresh ask waits for the quiet time (the 60 s debounce) as before.
    await sendRefreshAsk(target, 1);
    await new Promise((r) => setTimeout(r, 5000));
    const waiting = await refresherStatus(h);
    expect(waiting.pending).toBe(1);
    expect(waiting.runs).toBe(1);
  }, 120_000);

  it('its workflow task timeout is its own: at start, and after continue-as-new for a refresher started without it', async () => {
    const base = h.refreshTarget;
    if (!base) throw new Error('no refresh target');
    // Refreshers of their own that continue as new after every dbt run.
    const own = (name: string) => ({
      ...base,
      workflowId: `${base.workflowId}-${uniqueId(name)}`,
      input: { ...base.input, debounceMs: 100, maxWaitMs: 1000, runsPerHistory: 1 },
    });
    const described = async (workflowId: string) => {
      const desc = await h.env.client.workflow.getHandle(workflowId).describe();
      const ms = durationMs(desc.raw.executionConfig?.defaultWorkflowTaskTimeout);
      const priority = desc.raw.workflowExecutionInfo?.priority?.priorityKey ?? null;
      return { runId: desc.runId, taskQueue: desc.taskQueue, ms, priority };
    };
    /** The run that continued `runId` as new, once there is one. */
    const continuedFrom = (workflowId: string, runId: string) =>
      waitFor(
        'the refresher to continue as new after its dbt run',
        async () => {
          const latest = await described(workflowId);
          return latest.runId !== runId && latest;
        },
        60_000,
      );
    // Started as a worker before this setting did: Temporal's default timeout, until it continues as new.
    const older = own('older');
    await h.env.client.workflow.signalWithStart(DBT_REFRESH_WORKFLOW_TYPE, {
      workflowId: older.workflowId,
      taskQueue: older.taskQueue,
      args: [older.input],
      signal: refreshRequestedSignal,
      signalArgs: [{ count: 1 }],
    });
    const first = await described(older.workflowId);
    expect(first.ms).toBe(10_000);
    const next = await continuedFrom(older.workflowId, first.runId);
    expect(next.ms).toBe(REFRESH_WORKFLOW_TASK_TIMEOUT_MS);
    expect(next.taskQueue).toBe(first.taskQueue);
    // Started by a refresh ask of this worker: its own timeout and priority from the start, both
    // kept by its continue-as-new, on the same task queue.
    const current = own('current');
    await sendRefreshAsk(current, 1);
    const started = await described(current.workflowId);
    expect(started).toMatchObject({ ms: REFRESH_WORKFLOW_TASK_TIMEOUT_MS, priority: REFRESH_PRIORITY_KEY });
    expect(started.taskQueue).toBe(h.taskQueue);
    const continued = await continuedFrom(current.workflowId, started.runId);
    expect(continued).toMatchObject({
      ms: REFRESH_WORKFLOW_TASK_TIMEOUT_MS,
      priority: REFRESH_PRIORITY_KEY,
      taskQueue: h.taskQueue,
    });
  }, 120_000);

  it("a refresher an earlier version left on the dbt task queue is moved to the worker's, its counts kept", async () => {
    const base = h.refreshTarget;
    if (!base) throw new Error('no refresh target');
    const workflowId = `${base.workflowId}-${uniqueId('moved')}`;
    const dbtQueue = base.input.dbtTaskQueue;
    // Where an earlier version ran it: on the dbt queue (no worker runs workflow tasks there now),
    // with the counts its memo keeps after every dbt run and two asks pending.
    const served = { runs: 3, failedRuns: 1, requestsServed: 40, last: null, pending: 2 };
    await h.env.client.workflow.signalWithStart(DBT_REFRESH_WORKFLOW_TYPE, {
      workflowId,
      taskQueue: dbtQueue,
      args: [base.input],
      memo: { refresh: served },
      signal: refreshRequestedSignal,
      signalArgs: [{ count: 2 }],
    });
    const stuck = await h.env.client.workflow.getHandle(workflowId).describe();
    expect(stuck.taskQueue).toBe(dbtQueue);

    const target = { ...base, workflowId, input: { ...base.input, debounceMs: 100, maxWaitMs: 1000 } };
    expect(await moveRefresher(target)).toBe(dbtQueue);
    const old = await h.env.client.workflow.getHandle(workflowId, stuck.runId).describe();
    expect(old.status.name).toBe('TERMINATED');
    const moved = await h.env.client.workflow.getHandle(workflowId).describe();
    expect(moved.runId).not.toBe(stuck.runId);
    expect(moved.taskQueue).toBe(h.taskQueue);
    expect(moved.raw.workflowExecutionInfo?.priority?.priorityKey).toBe(REFRESH_PRIORITY_KEY);
    // It runs there: the two pending asks are served by a dbt run on top of the carried counts.
    const status = await waitFor(
      'the moved refresher to run dbt',
      async () => {
        const s = await h.env.client.workflow.getHandle(workflowId).query(refreshStatusQuery);
        return s.runs === 4 && s;
      },
      60_000,
    );
    expect(status).toMatchObject({ runs: 4, failedRuns: 1, requestsServed: 42, pending: 0 });
    // Where it already is, it stays; so does one on another worker's task queue.
    expect(await moveRefresher(target)).toBeNull();
    await h.env.client.workflow.getHandle(workflowId).terminate('test finished');
    const elsewhere = `${workflowId}-elsewhere`;
    await h.env.client.workflow.signalWithStart(DBT_REFRESH_WORKFLOW_TYPE, {
      workflowId: elsewhere,
      taskQueue: `${h.taskQueue}-another-worker`,
      args: [base.input],
      signal: refreshRequestedSignal,
      signalArgs: [{ count: 1 }],
    });
    expect(await moveRefresher({ ...target, workflowId: elsewhere })).toBeNull();
    expect((await h.env.client.workflow.getHandle(elsewhere).describe()).status.name).toBe('RUNNING');
    await h.env.client.workflow.getHandle(elsewhere).terminate('test finished');
  }, 120_000);

  it('a dbt attempt recorded started but never delivered costs the refresher one short heartbeat timeout', async () => {
    const base = h.refreshTarget;
    if (!base?.client || !h.dbt) throw new Error('no refresh target');
    const dbtQueue = `${base.input.dbtTaskQueue}-${uniqueId('lossy')}`;
    const target = {
      ...base,
      workflowId: `${base.workflowId}-${uniqueId('lossy')}`,
      input: { ...base.input, dbtTaskQueue: dbtQueue, debounceMs: 100, maxWaitMs: 1000 },
    };
    // The loss as the server sees it: a worker takes the first attempt and never runs it, never
    // beats. Its one slot stays taken, so later attempts go to the real dbt worker started after.
    const firstTaken = deferred<number>();
    const held = deferred();
    // A connection of its own: one connection does not take two workers on one task queue.
    const lossyConnection = await NativeConnection.connect({ address: inject('temporalAddress') });
    const lossy = await Worker.create({
      connection: lossyConnection,
      namespace: 'default',
      taskQueue: dbtQueue,
      maxConcurrentActivityTaskExecutions: 1,
      activities: {
        async runModelRefresh() {
          firstTaken.resolve(Date.now());
          await held.promise;
          throw new Error('never delivered');
        },
      },
    });
    const lossyDone = lossy.run();
    let dbtWorker: Worker | undefined;
    let dbtDone: Promise<void> | undefined;
    try {
      await sendRefreshAsk(target, 1);
      const lostAt = await firstTaken.promise;
      dbtWorker = await createDbtWorker({
        connection: h.env.nativeConnection,
        namespace: 'default',
        taskQueue: dbtQueue,
        deps: { warehouse: h.warehouse, dbt: h.dbt },
      });
      dbtDone = dbtWorker.run();
      const status = await waitFor(
        'the refresh to run on a later attempt',
        async () => {
          const s = await h.env.client.workflow.getHandle(target.workflowId).query(refreshStatusQuery);
          return s.runs === 1 && s;
        },
        90_000,
      );
      expect(status.last?.refreshId).toMatch(/:a2$/);
      expect(status.failedRuns).toBe(0);
      // The heartbeat timeout, the retry's 2 s and one dbt run; with the 30 s timeout before change
      // 25 of docs/performance-log.md it was more than 32 s.
      expect(Date.now() - lostAt).toBeLessThan(DBT_HEARTBEAT.timeoutMs + 15_000);
    } finally {
      held.resolve();
      lossy.shutdown();
      dbtWorker?.shutdown();
      await Promise.all([lossyDone, dbtDone]);
      await lossyConnection.close();
      await h.env.client.workflow
        .getHandle(target.workflowId)
        .terminate('test finished')
        .catch(() => undefined);
    }
  }, 120_000);

  it('a dbt run longer than the heartbeat timeout keeps its attempt: its beats reach the server every couple of seconds', async () => {
    const base = h.refreshTarget;
    if (!base) throw new Error('no refresh target');
    const target = {
      ...base,
      workflowId: `${base.workflowId}-${uniqueId('long')}`,
      input: { ...base.input, debounceMs: 100, maxWaitMs: 1000 },
    };
    // The dbt activity waits for the warehouse lease this test holds, beating all along.
    const leased = deferred();
    const lease = deferred();
    const holding = h.warehouse.withLease(async () => {
      leased.resolve();
      await lease.promise;
    });
    await leased.promise;
    const handle = h.env.client.workflow.getHandle(target.workflowId);
    const ages: number[] = [];
    try {
      await sendRefreshAsk(target, 1);
      const heldUntil = Date.now() + DBT_HEARTBEAT.timeoutMs * 1.5 + 2_000;
      while (Date.now() < heldUntil) {
        const pending = (await handle.describe()).raw.pendingActivities ?? [];
        // A timestamp is seconds and nanos too: durationMs reads it as epoch ms.
        const beatAt = durationMs(pending[0]?.lastHeartbeatTime);
        if (beatAt !== null) ages.push(Date.now() - beatAt);
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      lease.resolve();
      await holding;
    }
    const status = await waitFor(
      'the refresh to finish',
      async () => {
        const s = await handle.query(refreshStatusQuery);
        return s.runs + s.failedRuns > 0 && s;
      },
      60_000,
    );
    expect(status).toMatchObject({ runs: 1, failedRuns: 0 });
    expect(status.last?.refreshId).toMatch(/:a1$/);
    // Seen over at least one heartbeat timeout, never older than the worker's throttle and a margin
    // (the SDK's own throttle, 0.8 timeouts, would let it reach 8 s).
    expect(ages.length).toBeGreaterThan(DBT_HEARTBEAT.timeoutMs / 500);
    expect(Math.max(...ages)).toBeLessThan(DBT_HEARTBEAT.throttleMs + 2_000);
    await handle.terminate('test finished');
  }, 120_000);
});
