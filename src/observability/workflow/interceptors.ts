/**
 * The workflow interceptors module of the whole workflow bundle (bundled through
 * `workflowInterceptorModules`, sandboxed): what the Web UI shows while an execution runs and what
 * the workflows report, without touching the workflow code. The parts every workflow gets are in
 * common.ts (summaries, the refresher's lag, tracing, ids on log lines); here, what a policy
 * execution adds when it starts:
 *   - its initial current details (the workflow updates them as its row advances, with the same
 *     renderer: src/policy/details.ts);
 *   - metrics: executions started and finished, their duration (metrics.ts);
 *   - its execution id on the spans and log lines.
 */
import { setCurrentDetails, workflowInfo, type WorkflowInterceptorsFactory } from '@temporalio/workflow';
import { TRIGGER_MEMO_KEY } from '../../contracts';
import { renderCurrentDetails } from '../../policy/details';
import { initialState } from '../../policy/state';
import { validateOptions } from '../../policy/input';
import { workflowInterceptors, type ExecutionStart } from './common';
import { endingOf, executionMetrics } from './metrics';
import { SPAN_ATTRIBUTES, setSpanAttributes } from './tracing';

function triggerOf(): string {
  const trigger = workflowInfo().memo?.[TRIGGER_MEMO_KEY];
  return typeof trigger === 'string' && /^[a-z]{1,20}$/.test(trigger) ? trigger : 'other';
}

const executionStart: ExecutionStart = async (input, next, { ids, trace }) => {
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
};

export const interceptors: WorkflowInterceptorsFactory = () => workflowInterceptors(executionStart);
