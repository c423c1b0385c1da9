/**
 * The workflow interceptors module (bundled through `workflowInterceptorModules`, sandboxed): what
 * the Web UI shows while an execution runs and what the workflows report, without touching the
 * workflow code:
 *   - summaries on the activities and timers a workflow schedules (summaries.ts);
 *   - the initial current details of a policy execution (the workflow updates them as its row
 *     advances, with the same renderer: src/policy/details.ts);
 *   - metrics: executions started and finished, their duration, the refresher's lag (metrics.ts);
 *   - tracing, for executions started with a trace context (tracing.ts), with the execution id and
 *     the policy id on the spans;
 *   - the execution id and policy id on every workflow log line.
 */
import {
  setCurrentDetails,
  workflowInfo,
  type WorkflowInterceptors,
  type WorkflowInterceptorsFactory,
} from '@temporalio/workflow';
import {
  DBT_REFRESH_WORKFLOW_TYPE,
  PolicyIdKey,
  refreshRequestedSignal,
  TRIGGER_MEMO_KEY,
  WORKFLOW_TYPE,
} from '../../contracts';
import { renderCurrentDetails } from '../../policy/details';
import { initialState } from '../../policy/state';
import { validateOptions } from '../../policy/input';
import { endingOf, executionMetrics, refreshLagMetrics } from './metrics';
import { activitySummary, timerSummary } from './summaries';
import { SPAN_ATTRIBUTES, setSpanAttributes, tracingInterceptors, type TraceState } from './tracing';

interface ExecutionIds {
  executionId?: string;
  policyId?: string;
}

function idsOf(state: ExecutionIds): ExecutionIds {
  const policyId = workflowInfo().typedSearchAttributes.get(PolicyIdKey);
  if (policyId) state.policyId = policyId;
  return state;
}

function triggerOf(): string {
  const trigger = workflowInfo().memo?.[TRIGGER_MEMO_KEY];
  return typeof trigger === 'string' && /^[a-z]{1,20}$/.test(trigger) ? trigger : 'other';
}

export const interceptors: WorkflowInterceptorsFactory = (): WorkflowInterceptors => {
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
        async execute(input, next) {
          if (workflowType !== WORKFLOW_TYPE) return next(input);
          const options = validateOptions(input.args[1]);
          ids.executionId = (options.ok && options.value.executionId) || workflowInfo().workflowId;
          setSpanAttributes(trace, { [SPAN_ATTRIBUTES.executionId]: ids.executionId });
          setCurrentDetails(
            renderCurrentDetails({
              row: initialState({
                executionId: ids.executionId,
                workflowId: workflowInfo().workflowId,
                policy: null,
                at: new Date().toISOString(),
              }),
              maxPolls: options.ok ? options.value.maxPolls : null,
            }),
          );
          const metrics = executionMetrics();
          metrics.started(triggerOf());
          try {
            const result = await next(input);
            metrics.finished({ status: 'completed', step: 'none' });
            return result;
          } catch (err) {
            const ending = endingOf(err);
            if (ending) metrics.finished(ending);
            throw err;
          }
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
        // in the SDK's promise hook (docs/performance.md, change 9).
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
};
