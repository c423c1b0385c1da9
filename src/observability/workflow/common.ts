/**
 * The workflow interceptors every workflow of ours gets (interceptors.ts is the bundle's module):
 *   - summaries on the activities and timers a workflow schedules (summaries.ts);
 *   - the refresher's lag metric (metrics.ts);
 *   - tracing, for executions started with a trace context (tracing.ts), with the execution id and
 *     the policy id on the spans;
 *   - the execution id and policy id on every log line of a policy execution.
 * What a policy execution does when it starts (its input rules, its first current details) is
 * passed in by interceptors.ts.
 */
import {
  workflowInfo,
  type WorkflowExecuteInput,
  type WorkflowInterceptors,
  type Next,
  type WorkflowInboundCallsInterceptor,
} from '@temporalio/workflow';
import {
  DBT_REFRESH_WORKFLOW_TYPE,
  PolicyIdKey,
  refreshRequestedSignal,
  WORKFLOW_TYPE,
} from '../../contracts';
import { refreshLagMetrics } from './metrics';
import { activitySummary, timerSummary } from './summaries';
import { SPAN_ATTRIBUTES, setSpanAttributes, tracingInterceptors, type TraceState } from './tracing';

export interface ExecutionIds {
  executionId?: string;
  policyId?: string;
}

/** How a policy execution starts, around its workflow function (interceptors.ts). */
export type ExecutionStart = (
  input: WorkflowExecuteInput,
  next: Next<WorkflowInboundCallsInterceptor, 'execute'>,
  context: { ids: ExecutionIds; trace: TraceState },
) => Promise<unknown>;

function idsOf(state: ExecutionIds): ExecutionIds {
  const policyId = workflowInfo().typedSearchAttributes.get(PolicyIdKey);
  if (policyId) state.policyId = policyId;
  return state;
}

/** The interceptors of one workflow; `executionStart` wraps a policy execution's start (none: run it as it is). */
export function workflowInterceptors(executionStart?: ExecutionStart): WorkflowInterceptors {
  const trace: TraceState = { traced: false };
  const tracing = tracingInterceptors(trace);
  const workflowType = workflowInfo().workflowType;
  const ids: ExecutionIds = {};
  const lag = workflowType === DBT_REFRESH_WORKFLOW_TYPE ? refreshLagMetrics() : null;

  /** An activity (regular or local) about to be scheduled: ids on the span, a summary if it has none. */
  const described = <T extends { activityType: string; args: unknown[]; options: { summary?: string } }>(
    input: T,
  ): T => {
    const current = idsOf(ids);
    setSpanAttributes(trace, {
      [SPAN_ATTRIBUTES.executionId]: current.executionId,
      [SPAN_ATTRIBUTES.policyId]: current.policyId,
    });
    const summary = input.options.summary ?? activitySummary(input.activityType, input.args);
    return summary ? { ...input, options: { ...input.options, summary } } : input;
  };

  return {
    inbound: [
      tracing.inbound,
      {
        execute(input, next) {
          if (workflowType !== WORKFLOW_TYPE || !executionStart) return next(input);
          return executionStart(input, next, { ids, trace });
        },
        handleSignal(input, next) {
          if (lag && input.signalName === refreshRequestedSignal.name) lag.asked();
          return next(input);
        },
      },
    ],
    outbound: [
      tracing.outbound,
      {
        // Not async unless it measures a dbt run: each promise in workflow code costs a stack capture
        // in the SDK's promise hook (docs/performance-log.md, change 9).
        scheduleActivity(input, next) {
          const scheduled = described(input);
          if (!lag || input.activityType !== 'runModelRefresh') return next(scheduled);
          const since = lag.runStarts();
          return next(scheduled).then(
            (result) => {
              lag.runEnded(since, true);
              return result;
            },
            (err: unknown) => {
              lag.runEnded(since, false);
              throw err;
            },
          );
        },
        scheduleLocalActivity: (input, next) => next(described(input)),
        startTimer(input, next) {
          if (input.options?.summary) return next(input);
          const summary = timerSummary(workflowType, input.durationMs);
          return next(summary ? { ...input, options: { ...input.options, summary } } : input);
        },
        getLogAttributes(input, next) {
          if (workflowType !== WORKFLOW_TYPE) return next(input);
          const current = idsOf(ids);
          return next({
            ...(current.executionId ? { executionId: current.executionId } : {}),
            ...(current.policyId ? { policyId: current.policyId } : {}),
            ...input,
          });
        },
      },
    ],
    internals: [tracing.internals],
  };
}
