/**
 * How the policy workflow's state row reaches the warehouse (docs/design.md, decision 21). Workflow
 * code (sandboxed).
 *
 * Since the `state-writes-ride-activities` patch, a row the workflow has just computed is written by
 * the next policy API activity, alongside its API call (the activity's input carries it), instead of
 * by a local activity of its own: no extra step on the execution's critical path, and the writes of
 * concurrent executions coalesce in the worker's batch writer. A row is written by a local activity
 * only when no API call follows at once and no activity wrote it itself: before a poll delay that
 * follows a poll which carried nothing, and a terminal row the circuit breaker did not write (an
 * `error` row, or a breaker whose own write failed), durable before the workflow completes. Which
 * rows the API activities write themselves (a pending poll before a delay, the `completed` row) is
 * decided in policy-execution.ts, under its patches. Every row carries the workflow's own clock and
 * the whole state, and the warehouse keeps only rows that supersede the stored one, so a row written
 * late, twice, or not at all (a worker lost mid-activity) never moves the table backwards: the next
 * write brings it up to date.
 *
 * Histories recorded before the patch wrote every row with its own local activity, then asked for
 * the model refresh with another; they replay that way.
 */
import { CancellationScope, log, patched, proxyLocalActivities } from '@temporalio/workflow';
import type { PolicyActivities } from '../activities';
import type { StateRow } from '../policy';

const RIDE_PATCH = 'state-writes-ride-activities';

/**
 * State writes of their own: local activities (run by this worker, no task-queue round trip; the
 * warehouse batches concurrent writes), retried for a long while (the warehouse may be busy).
 */
const { recordState, finishExecution } = proxyLocalActivities<PolicyActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '500 ms', backoffCoefficient: 2, maximumInterval: '30 s', maximumAttempts: 30 },
});

/** Before the patch: refresh asks were a local activity of their own (one signal-with-start each). */
const { requestModelRefresh } = proxyLocalActivities<PolicyActivities>({
  startToCloseTimeout: '30 s',
  retry: { initialInterval: '1 s', backoffCoefficient: 2, maximumInterval: '10 s', maximumAttempts: 5 },
});

export interface StateWrites {
  /** Whether rows ride on the API activities (the patch is in effect). */
  readonly riding: boolean;
  /** The row changed. A promise to await only when the row is written here (not riding). */
  changed(row: StateRow): Promise<void> | undefined;
  /** The row for the next API activity to write alongside its call (marks it written). */
  carry(): StateRow | undefined;
  /** Before the workflow waits: write the row if no activity carried it (a promise when it does). */
  flush(): Promise<void> | undefined;
  /** The terminal row: durable before this resolves; then the model refresh ask, if wanted. */
  finish(row: StateRow, refresh: boolean): Promise<void>;
}

/**
 * `rideIncluded`: the execution runs under a patch of policy-execution.ts that includes riding;
 * otherwise the ride patch decides, as it did when it was the newest.
 */
export function stateWrites(executionId: string, rideIncluded: boolean): StateWrites {
  const riding = rideIncluded || patched(RIDE_PATCH);
  let unwritten: StateRow | null = null;
  return {
    riding,
    // Not async: a promise per call is a stack capture in the SDK's promise hook (change 9).
    changed(row) {
      if (!riding) return recordState(row);
      unwritten = row;
      return undefined;
    },
    carry() {
      const row = unwritten ?? undefined;
      unwritten = null;
      return row;
    },
    flush() {
      if (!unwritten) return undefined;
      const row = unwritten;
      unwritten = null;
      return recordState(row);
    },
    async finish(row, refresh) {
      unwritten = null;
      if (riding) {
        await CancellationScope.nonCancellable(() => finishExecution({ row, refresh }));
        return;
      }
      await CancellationScope.nonCancellable(() => recordState(row));
      if (!refresh) return;
      try {
        await CancellationScope.nonCancellable(() => requestModelRefresh({ executionId }));
      } catch (err) {
        log.warn('could not ask for a model refresh', { executionId, error: String(err) });
      }
    },
  };
}
