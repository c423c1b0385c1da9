/**
 * Activities: all I/O of a policy execution. One factory builds them from injected dependencies
 * (the policy API client and the warehouse), so the worker, tests and benchmarks wire real parts the
 * same way.
 */
import { Context } from '@temporalio/activity';
import { circuitBreaker, ConsecutiveBreaker, handleWhen, type CircuitBreakerPolicy } from 'cockatiel';
import { API_ACTIVITY_HEARTBEAT } from '../policy/activity-timeouts';
import type { PolicyData } from '../policy/input';
import { ownRowOf } from '../policy/own-rows';
import type { StateRow } from '../policy/state';
import { classifyPolicyStatus } from '../policy/status';
import {
  PolicyApiError,
  type CircuitBreakerRequest,
  type CircuitBreakerResult,
  type CreatePolicyResult,
  type PolicyApi,
  type PolicyStatusResult,
} from '../policy-api/types';
import type { Warehouse } from '../warehouse/types';
import { REFRESH_DEFAULTS } from '../contracts';
import { retryTiming, toApplicationFailure } from './failures';
import { settlesBy, WRITE_BUDGET_MS } from './write-budget';
import { RefreshAskCoalescer, sendRefreshAsk, type RefreshTarget } from './refresh-asks';
import { whileBeating } from './beats';

export { MAX_RETRY_AFTER_MS, retryTiming, toApplicationFailure } from './failures';

export interface BreakerOptions {
  /** Consecutive retryable failures that open the breaker; 0 disables it. */
  threshold: number;
  /** How long the breaker stays open before letting one trial call through. */
  halfOpenAfterMs: number;
}

export const DEFAULT_BREAKER: BreakerOptions = { threshold: 10, halfOpenAfterMs: 5_000 };

export interface ActivityDeps {
  api: PolicyApi;
  warehouse: Warehouse;
  breaker?: BreakerOptions;
  /** Absent: model refresh is off for this worker (requestModelRefresh does nothing). */
  refresh?: RefreshTarget;
  /** Sees the policy API circuit breaker once it exists (metrics: its state). */
  onBreaker?: (breaker: CircuitBreakerPolicy) => void;
  /** How long an API activity waits for its state writes, from its start. Default WRITE_BUDGET_MS. */
  writeBudgetMs?: number;
}

export function createActivities(deps: ActivityDeps) {
  const { api, warehouse } = deps;
  const writeBudgetMs = deps.writeBudgetMs ?? WRITE_BUDGET_MS;
  const breakerOpts = deps.breaker ?? DEFAULT_BREAKER;
  const breaker: CircuitBreakerPolicy | null =
    breakerOpts.threshold > 0
      ? circuitBreaker(
          handleWhen((e) => e instanceof PolicyApiError && e.retryable),
          {
            halfOpenAfter: breakerOpts.halfOpenAfterMs,
            breaker: new ConsecutiveBreaker(breakerOpts.threshold),
          },
        )
      : null;
  if (breaker) deps.onBreaker?.(breaker);
  const refresh = deps.refresh;
  const refreshAsks = refresh
    ? new RefreshAskCoalescer(
        (count, pacedMs, askedAt) => sendRefreshAsk(refresh, count, pacedMs, askedAt),
        refresh.askIntervalMs ?? REFRESH_DEFAULTS.askIntervalMs,
      )
    : null;

  async function callApi<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return breaker ? await breaker.execute(fn) : await fn();
    } catch (err) {
      throw toApplicationFailure(err, breakerOpts.halfOpenAfterMs, retryTiming());
    }
  }

  /**
   * An API call with the state row the workflow handed it (docs/design.md, decision 21): the row is
   * written alongside the call and the activity completes once both are done. A failed write is
   * logged, not thrown: the API call must not be retried for it, and the next row supersedes it.
   */
  function writeLogged(state: StateRow): Promise<void> {
    return warehouse.upsertStates([state]).catch((err: unknown) => {
      Context.current().log.warn('state write alongside the API call failed; the next write supersedes it', {
        executionId: state.execution_id,
        stateVersion: state.state_version,
        error: err instanceof Error ? err.message : String(err),
      });
    });
  }

  /**
   * Waits for a write beside the API call until the attempt's write budget is spent; one still
   * pending then goes on in the background (version-guarded: landing late moves no row back) and the
   * activity completes without it, as with a failed write.
   */
  async function awaitWrite(write: Promise<void>, startedMs: number, state: StateRow): Promise<void> {
    if (await settlesBy(write, startedMs + writeBudgetMs)) return;
    Context.current().log.warn(
      'state write alongside the API call still pending; the activity completes without it',
      {
        executionId: state.execution_id,
        stateVersion: state.state_version,
        waitedMs: Date.now() - startedMs,
      },
    );
  }

  /**
   * When this attempt started, before its call (epoch ms): the time stamped on a row an API activity
   * writes itself, and where its write budget counts from. Rows of different runs of an execution
   * are ordered by `updated_at` (decision 18), and an attempt of a run that was reset or re-run
   * started before that run ended, so its write, however late it lands, never supersedes the rows of
   * the run that replaced it.
   */
  function attemptStart(): number {
    return Date.now();
  }

  /**
   * The terminal row, durable when this resolves; then (if wanted) a model refresh ask handed to this
   * worker's coalescer without waiting for its signal. Throws what the warehouse throws.
   */
  async function writeFinal(row: StateRow, refresh: boolean): Promise<void> {
    await warehouse.upsertStates([row]);
    if (refresh && refreshAsks) refreshAsks.askInBackground();
  }

  /** An API activity's whole attempt, call and writes, beats while it runs (API_ACTIVITY_HEARTBEAT). */
  function beating<T>(work: () => Promise<T>): Promise<T> {
    return whileBeating(Context.current(), API_ACTIVITY_HEARTBEAT.beatMs, work);
  }

  /** `startedMs`: the attempt's start (attemptStart), from which its write budget counts. */
  async function withState<T>(
    state: StateRow | undefined,
    fn: () => Promise<T>,
    startedMs: number = attemptStart(),
  ): Promise<T> {
    const write = state ? writeLogged(state) : undefined;
    try {
      return await callApi(fn);
    } finally {
      if (write && state) await awaitWrite(write, startedMs, state);
    }
  }

  return {
    /** Upserts the state row (version-guarded in the warehouse). */
    async recordState(row: StateRow): Promise<void> {
      try {
        await warehouse.upsertStates([row]);
      } catch (err) {
        throw toApplicationFailure(err, breakerOpts.halfOpenAfterMs);
      }
    },

    /**
     * The terminal row, durable when this resolves; then (if wanted) a model refresh ask, handed to
     * this worker's coalescer without waiting for its signal: the execution ends without waiting on
     * the refresher (a worker lost within a second of the ask loses the ask; the next ask of any
     * execution refreshes the model for all of them).
     */
    async finishExecution(input: { row: StateRow; refresh: boolean }): Promise<void> {
      try {
        await writeFinal(input.row, input.refresh);
      } catch (err) {
        throw toApplicationFailure(err, breakerOpts.halfOpenAfterMs);
      }
    },

    /**
     * Before the state-writes patch (src/workflows/state-writes.ts): ask the dbtRefresh workflow for a
     * refresh (signal-with-start: starts it if it is not running).
     * Asks of this worker are coalesced into at most one signal per `askIntervalMs`; this resolves
     * once the signal carrying the ask is delivered. Returns false when model refresh is off.
     */
    async requestModelRefresh(_input: { executionId: string }): Promise<boolean> {
      if (!refreshAsks) return false;
      await refreshAsks.ask();
      return true;
    },

    async createPolicy(input: {
      policy: PolicyData;
      executionId: string;
      idempotencyKey: string;
      /** The state row to write alongside the call. */
      state?: StateRow;
    }): Promise<CreatePolicyResult> {
      return beating(() =>
        withState(input.state, () =>
          api.createPolicy(input.policy, {
            idempotencyKey: input.idempotencyKey,
            executionId: input.executionId,
          }),
        ),
      );
    },

    /**
     * One status poll. With `writePolledRow` (another poll follows after a delay; `state`, the row it
     * carries, or else `base`, the row already handed to the warehouse, is the execution's current
     * row), a status that is neither ready nor failed also writes this poll's `polled` row, computed
     * from that row by the workflow's own transition rules, and returns the time it stamped on it
     * (`polledRowAt`, when the attempt started: see attemptStart): the workflow computes the same
     * row from it, so the row is in the table while the workflow waits, without a write of its own
     * and without the row travelling back in the result (decision 21). A failed write is logged like
     * the carried row's.
     */
    async getPolicyStatus(input: {
      policyId: string;
      state?: StateRow;
      base?: StateRow;
      writePolledRow?: boolean;
    }): Promise<PolicyStatusResult & { polledRowAt?: string }> {
      return beating(async () => {
        const startedMs = attemptStart();
        const status = await withState(input.state, () => api.getPolicyStatus(input.policyId), startedMs);
        if (!input.writePolledRow || !(input.state ?? input.base)) return status;
        const cls = classifyPolicyStatus(status.status);
        if (cls === 'ready' || cls === 'failed') return status;
        const stamped = { ...status, polledRowAt: new Date(startedMs).toISOString() };
        const row = ownRowOf('getPolicyStatus', input, stamped) as StateRow;
        await awaitWrite(writeLogged(row), startedMs, row);
        return stamped;
      });
    },

    /**
     * The circuit breaker. With `finish` (and `state`, the execution's `circuit_breaker_initiated`
     * row), once the API has accepted the trigger the activity also writes the terminal `completed`
     * row (computed from `state` by the transition rules) and, if `finish.refresh`, hands a model
     * refresh ask to this worker's coalescer, as finishExecution does; it returns the time it stamped
     * on the row (`completedRowAt`, when the attempt started: see attemptStart), and the workflow completes without a state write of its own
     * (decision 21). If that write fails, the result has no `completedRowAt` and the workflow writes
     * the row with finishExecution (retried there): the API call is never repeated for a write.
     */
    async triggerCircuitBreaker(input: {
      request: CircuitBreakerRequest;
      idempotencyKey: string;
      state?: StateRow;
      finish?: { refresh: boolean };
    }): Promise<CircuitBreakerResult & { completedRowAt?: string }> {
      return beating(async () => {
        const startedMs = attemptStart();
        const result = await withState(
          input.state,
          () => api.triggerCircuitBreaker(input.request, { idempotencyKey: input.idempotencyKey }),
          startedMs,
        );
        if (!input.finish || !input.state) return result;
        const stamped = { ...result, completedRowAt: new Date(startedMs).toISOString() };
        const row = ownRowOf('triggerCircuitBreaker', input, stamped) as StateRow;
        try {
          // Not durable within the budget: the workflow writes it (finishExecution), as on a failure.
          const final = writeFinal(row, input.finish.refresh);
          final.catch(() => undefined); // left in the background when late: its failure is no one's
          if (!(await settlesBy(final, startedMs + writeBudgetMs)))
            throw new Error(`still pending after ${writeBudgetMs} ms`);
        } catch (err) {
          Context.current().log.warn(
            'final state row not written with the circuit breaker; the workflow writes it',
            {
              executionId: row.execution_id,
              stateVersion: row.state_version,
              error: err instanceof Error ? err.message : String(err),
            },
          );
          return result;
        }
        return stamped;
      });
    },
  };
}

export type PolicyActivities = ReturnType<typeof createActivities>;
