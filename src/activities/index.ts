/**
 * Activities: all I/O of a policy execution. One factory builds them from injected dependencies
 * (the policy API client and the warehouse), so the worker, tests and benchmarks wire real parts the
 * same way.
 */
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import {
  BrokenCircuitError,
  circuitBreaker,
  ConsecutiveBreaker,
  handleWhen,
  type CircuitBreakerPolicy,
} from 'cockatiel';
import type { PolicyData } from '../policy/input';
import type { StateRow } from '../policy/state';
import {
  PolicyApiError,
  type CircuitBreakerRequest,
  type CircuitBreakerResult,
  type CreatePolicyResult,
  type PolicyApi,
  type PolicyStatusResult,
} from '../policy-api/types';
import { WarehouseBusyError, type Warehouse } from '../warehouse/types';
import {
  DBT_REFRESH_WORKFLOW_TYPE,
  refreshRequestedSignal,
  type DbtRefreshInput,
} from '../workflows/dbt-refresh';

export interface BreakerOptions {
  /** Consecutive retryable failures that open the breaker; 0 disables it. */
  threshold: number;
  /** How long the breaker stays open before letting one trial call through. */
  halfOpenAfterMs: number;
}

export const DEFAULT_BREAKER: BreakerOptions = { threshold: 10, halfOpenAfterMs: 5_000 };

/** Where terminal executions ask for a refresh of policy_execution_model (the dbtRefresh workflow). */
export interface RefreshTarget {
  client: Client;
  /** The singleton refresher's workflow id (one per warehouse). */
  workflowId: string;
  /** Task queue the refresher workflow runs on (the worker's main queue). */
  taskQueue: string;
  input: DbtRefreshInput;
}

export interface ActivityDeps {
  api: PolicyApi;
  warehouse: Warehouse;
  breaker?: BreakerOptions;
  /** Absent: model refresh is off for this worker (requestModelRefresh does nothing). */
  refresh?: RefreshTarget;
}

/** Converts a client error into a Temporal failure: Temporal's retry policy does the retrying. */
export function toApplicationFailure(err: unknown, halfOpenAfterMs: number): unknown {
  if (err instanceof PolicyApiError) {
    return ApplicationFailure.create({
      message: err.message,
      type: `PolicyApiError.${err.kind}`,
      nonRetryable: !err.retryable,
      nextRetryDelay: err.retryAfterMs,
      details: [{ step: err.step, kind: err.kind, httpStatus: err.httpStatus ?? null }],
    });
  }
  if (err instanceof BrokenCircuitError) {
    return ApplicationFailure.create({
      message: 'policy API circuit breaker is open after repeated failures; not calling the API',
      type: 'PolicyApiError.circuit_open',
      nonRetryable: false,
      nextRetryDelay: halfOpenAfterMs,
    });
  }
  if (err instanceof WarehouseBusyError) {
    return ApplicationFailure.create({ message: err.message, type: 'WarehouseBusy', nonRetryable: false });
  }
  return err;
}

export function createActivities(deps: ActivityDeps) {
  const { api, warehouse } = deps;
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

  async function callApi<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return breaker ? await breaker.execute(fn) : await fn();
    } catch (err) {
      throw toApplicationFailure(err, breakerOpts.halfOpenAfterMs);
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
     * Ask the dbtRefresh workflow for a refresh (signal-with-start: starts it if it is not running).
     * Returns false when this worker has model refresh turned off.
     */
    async requestModelRefresh(input: { executionId: string }): Promise<boolean> {
      const target = deps.refresh;
      if (!target) return false;
      await target.client.workflow.signalWithStart(DBT_REFRESH_WORKFLOW_TYPE, {
        workflowId: target.workflowId,
        taskQueue: target.taskQueue,
        args: [target.input],
        signal: refreshRequestedSignal,
        signalArgs: [{ executionId: input.executionId }],
      });
      return true;
    },

    async createPolicy(input: {
      policy: PolicyData;
      executionId: string;
      idempotencyKey: string;
    }): Promise<CreatePolicyResult> {
      return callApi(() =>
        api.createPolicy(input.policy, {
          idempotencyKey: input.idempotencyKey,
          executionId: input.executionId,
        }),
      );
    },

    async getPolicyStatus(input: { policyId: string }): Promise<PolicyStatusResult> {
      return callApi(() => api.getPolicyStatus(input.policyId));
    },

    async triggerCircuitBreaker(input: {
      request: CircuitBreakerRequest;
      idempotencyKey: string;
    }): Promise<CircuitBreakerResult> {
      return callApi(() =>
        api.triggerCircuitBreaker(input.request, { idempotencyKey: input.idempotencyKey }),
      );
    },
  };
}

export type PolicyActivities = ReturnType<typeof createActivities>;
