/**
 * dbtRefresh: one long-lived workflow per warehouse that keeps `policy_execution_model` fresh
 * (docs/design.md, decision 5). Executions that reach `completed` or `error` signal it (signal-with-start from the
 * requestModelRefresh activity); it coalesces those asks — it waits until no new ask came for
 * `debounceMs`, but never longer than `maxWaitMs` after the first one — and runs ONE
 * `dbt run --select policy_execution_model` per batch, as an activity on the dbt task queue, whose
 * worker has one slot, so dbt runs never overlap and never run once per execution. The refresher
 * itself runs on the worker's task queue at a priority of its own, so its workflow tasks do not wait
 * behind a backlog of policy executions (docs/design.md, decision 11). A failed dbt run is retried
 * by the activity's retry policy; if it still fails, the asks are kept for the next batch.
 * Executions never wait on it.
 * It continues-as-new every `runsPerHistory` dbt runs (or when Temporal suggests it).
 */
import {
  ActivityFailure,
  allHandlersFinished,
  condition,
  log,
  makeContinueAsNewFunc,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { DbtActivities } from '../activities/dbt';
import { askCount, askedAt, batchDueAt, quietAfter } from '../policy/refresh-batch';
import {
  DBT_HEARTBEAT,
  REFRESH_DEFAULTS,
  REFRESH_WORKFLOW_TASK_TIMEOUT_MS,
  refreshRequestedSignal,
  refreshStatusQuery,
  type DbtRefreshInput,
  type RefreshStatus,
} from '../contracts';

/** Histories recorded before this patch wait on a plain timer (test/fixtures/histories). */
const WAKE_ON_ASKS_PATCH = 'refresh-wakes-on-asks';

/**
 * Since this patch `maxWaitMs` counts from when the batch's first ask was made (the signal's
 * `askedAt`), no longer from when the refresher saw it; runs recorded before it (and the runs they
 * continue as) keep counting from the signal.
 */
const MAX_WAIT_FROM_ASK_PATCH = 'refresh-max-wait-from-ask';

export async function dbtRefresh(input: DbtRefreshInput): Promise<void> {
  const info = workflowInfo();
  const debounceMs = input.debounceMs ?? REFRESH_DEFAULTS.debounceMs;
  const maxWaitMs = input.maxWaitMs ?? REFRESH_DEFAULTS.maxWaitMs;
  const runsPerHistory = input.runsPerHistory ?? 100;

  const { runModelRefresh } = proxyActivities<DbtActivities>({
    taskQueue: input.dbtTaskQueue,
    startToCloseTimeout: '15 minutes',
    // A lost attempt costs this, a running one beats well inside it (DBT_HEARTBEAT).
    heartbeatTimeout: DBT_HEARTBEAT.timeoutMs,
    retry: {
      initialInterval: '2 s',
      backoffCoefficient: 2,
      maximumInterval: '1 minute',
      maximumAttempts: input.maxAttempts ?? 3,
    },
  });

  const status: Omit<RefreshStatus, 'pending'> = input.carried?.status ?? {
    runs: 0,
    failedRuns: 0,
    requestsServed: 0,
    last: null,
  };
  const fromAsk = patched(MAX_WAIT_FROM_ASK_PATCH);
  let pending = input.carried?.pending ?? 0;
  // A batch carried over by continue-as-new keeps its first ask's time (the same rule as a signal's).
  const carried = fromAsk ? { askedAt: input.carried?.firstAskAt } : undefined;
  let firstAskAt: number | null = pending > 0 ? askedAt(carried, Date.now()) : null;
  let lastAskAt: number | null = pending > 0 ? Date.now() : null;
  let quietMs = debounceMs;

  setHandler(refreshRequestedSignal, (ask) => {
    pending += askCount(ask);
    const now = Date.now();
    const asked = fromAsk ? askedAt(ask, now) : now;
    firstAskAt = firstAskAt === null ? asked : Math.min(firstAskAt, asked);
    lastAskAt = now;
    quietMs = quietAfter(ask, debounceMs, maxWaitMs);
  });
  setHandler(refreshStatusQuery, () => ({ ...status, pending }));

  for (let runsHere = 0; runsHere < runsPerHistory && !workflowInfo().continueAsNewSuggested; ) {
    await condition(() => pending > 0);
    // Debounce: run once asks stop (for debounceMs, longer after a paced ask), or maxWaitMs after
    // the first ask.
    for (;;) {
      const due = batchDueAt({ firstAskAt: firstAskAt ?? 0, lastAskAt: lastAskAt ?? 0, quietMs, maxWaitMs });
      const now = Date.now();
      if (now >= due) break;
      if (patched(WAKE_ON_ASKS_PATCH)) {
        // Also wake on every new ask and look at the clock then: an overloaded server fires timers
        // late (measured: a 1 s timer fired after 50 s while asks kept arriving every 1-2 s), and a
        // late timer must not hold back a refresh that is due.
        await condition(() => Date.now() >= due, due - now);
      } else {
        await sleep(due - now);
      }
    }
    const batch = pending;
    pending = 0;
    firstAskAt = lastAskAt = null;
    quietMs = debounceMs;
    runsHere += 1;
    const refreshId = `${info.workflowId}:${info.runId.slice(0, 8)}:${runsHere}`;
    try {
      const outcome = await runModelRefresh({ refreshId, requests: batch, workflowId: info.workflowId });
      status.runs += 1;
      status.requestsServed += batch;
      status.last = outcome;
    } catch (err) {
      status.failedRuns += 1;
      const cause = err instanceof ActivityFailure ? err.cause : undefined;
      const error = cause instanceof Error ? cause.message : err instanceof Error ? err.message : String(err);
      status.last = {
        refreshId,
        success: false,
        startedAt: new Date().toISOString(),
        finishedAt: new Date().toISOString(),
        durationMs: 0,
        requests: batch,
        modelRows: null,
        error,
      };
      log.warn('model refresh failed after retries; keeping the asks for the next batch', {
        refreshId,
        error,
      });
      pending += batch;
      firstAskAt ??= Date.now();
      lastAskAt = Date.now();
      await sleep(input.failurePauseMs ?? 30_000);
    }
    upsertMemo({ refresh: { ...status, pending } });
  }
  await condition(allHandlersFinished);
  // On the task queue it runs on, at the priority it was started with (Temporal keeps both), with the
  // refresher's own workflow task timeout (one started before it had one gets it). A refresher an
  // earlier version left on the dbt queue is moved by the worker (src/plugin/dbt-worker.ts).
  await makeContinueAsNewFunc<typeof dbtRefresh>({
    workflowTaskTimeout: REFRESH_WORKFLOW_TASK_TIMEOUT_MS,
  })({
    ...input,
    carried: { pending, status, firstAskAt },
  });
}
