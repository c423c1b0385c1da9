/**
 * policyExecution: the usage guide's three steps — create policy, poll status (bounded, durable
 * timers), trigger circuit breaker — with the state row upserted after every transition.
 *
 * Input: the guide's policy object (first argument) and optional per-execution options (second).
 */
import {
  ActivityFailure,
  ApplicationFailure,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { PolicyActivities } from '../activities';
import {
  classifyPolicyStatus,
  failedStatusMessage,
  idempotencyKey,
  initialState,
  notReadyMessage,
  STEP_LABELS,
  transition,
  validateOptions,
  validatePolicy,
  type JsonValue,
  type StateEvent,
  type StateRow,
  type Step,
} from '../policy';
import { PolicyExecutionStatusKey, PolicyIdKey, stateQuery } from '../contracts';
import { stateWrites } from './state-writes';

/**
 * Histories recorded before this patch use idempotency keys without the run chain
 * (test/fixtures/histories); executions started since name it, so a re-run gets keys of its own.
 */
const RUN_SCOPED_KEYS_PATCH = 'idempotency-keys-per-run';

/** A failure of one step, already described for the state row. */
class StepFailure extends Error {
  constructor(
    readonly step: Step,
    readonly reason: string,
  ) {
    super(reason);
  }
}

function describeActivityFailure(err: ActivityFailure): string {
  const cause = err.cause;
  let text = cause?.message ?? err.message;
  if (cause && cause.name === 'TimeoutFailure') text = `activity timed out (${text})`;
  return text;
}

/** Strip a leading "<step label>: " that the API client already put on its messages. */
function withoutStepPrefix(step: Step, text: string): string {
  const prefix = `${STEP_LABELS[step]}: `;
  return text.startsWith(prefix) ? text.slice(prefix.length) : text;
}

export async function policyExecution(policyInput: unknown, optionsInput?: unknown): Promise<StateRow> {
  const info = workflowInfo();
  const now = () => new Date().toISOString();
  const options = validateOptions(optionsInput);
  const policy = validatePolicy(policyInput);
  const executionId = (options.ok && options.value.executionId) || info.workflowId;

  let row: StateRow = initialState({
    executionId,
    workflowId: info.workflowId,
    runId: info.runId,
    policy: policy.ok ? (policy.value as JsonValue) : null,
    at: now(),
  });
  setHandler(stateQuery, () => row);

  const refreshWanted = !options.ok || options.value.refreshModel;
  const writes = stateWrites(executionId);

  let lastStatus: string | null = null;
  /** The search attributes follow the row's status (riding: not the passing `policy_ready`). */
  const upsertStatus = () => {
    if (row.status === lastStatus || (writes.riding && row.status === 'policy_ready')) return;
    lastStatus = row.status;
    upsertSearchAttributes([
      { key: PolicyExecutionStatusKey, value: row.status },
      ...(row.policy_id ? [{ key: PolicyIdKey, value: row.policy_id }] : []),
    ]);
  };
  const advance = async (event: StateEvent, write = true) => {
    row = transition(row, event);
    if (event.type === 'policy_created') lastStatus = null;
    upsertStatus();
    if (row.status === 'completed' || row.status === 'error') await writes.finish(row, refreshWanted);
    else if (write) await writes.changed(row);
  };
  const fail = async (step: Step, reason: string): Promise<never> => {
    const event: StateEvent = { type: 'failed', at: now(), step, error: withoutStepPrefix(step, reason) };
    // The error row is written even when the workflow is being cancelled (finish is not cancellable).
    await advance(event);
    log.warn('policy execution failed', { executionId, step, error: row.error_message });
    throw ApplicationFailure.nonRetryable(row.error_message ?? reason, 'PolicyExecutionFailed', {
      step,
      executionId,
    });
  };

  // A start by the CLI, the dispatcher, a schedule or a bulk run sets the status already.
  if (!writes.riding || info.typedSearchAttributes.get(PolicyExecutionStatusKey) !== row.status)
    upsertStatus();
  else lastStatus = row.status;
  await writes.changed(row);

  if (!options.ok || !policy.ok) {
    const problem = !policy.ok ? policy : (options as { ok: false; field: string; message: string });
    const event: StateEvent = {
      type: 'failed',
      at: now(),
      step: 'input',
      error: `invalid input: ${problem.message}`,
    };
    await advance(event);
    throw ApplicationFailure.nonRetryable(`invalid input: ${problem.message}`, 'InvalidPolicyInput', {
      field: problem.field,
    });
  }
  const opts = options.value;
  const api = proxyActivities<PolicyActivities>({
    // The client's own timeout (30 s by default) fires first; this bounds a lost worker.
    startToCloseTimeout: '45 s',
    retry: {
      initialInterval: opts.retry.initialIntervalMs,
      backoffCoefficient: 2,
      maximumInterval: opts.retry.maximumIntervalMs,
      maximumAttempts: opts.retry.maximumAttempts,
    },
  });

  let step: Step = 'create_policy';
  // A reset keeps originalExecutionRunId (same execution, same keys); a re-run of the id does not.
  const keyRun = patched(RUN_SCOPED_KEYS_PATCH) ? info.originalExecutionRunId : undefined;
  try {
    const created = await api.createPolicy({
      policy: policy.value,
      executionId,
      idempotencyKey: idempotencyKey(executionId, 'create', keyRun),
      state: writes.carry(),
    });
    await advance({ type: 'policy_created', at: now(), policyId: created.policyId, response: created.raw });

    step = 'poll_status';
    let ready = false;
    let last = '';
    for (let i = 0; i < opts.maxPolls && !ready; i++) {
      if (i > 0 && opts.pollIntervalMs > 0) {
        await writes.flush();
        await sleep(opts.pollIntervalMs);
      }
      const status = await api.getPolicyStatus({ policyId: created.policyId, state: writes.carry() });
      const cls = classifyPolicyStatus(status.status);
      last = status.status;
      // A ready poll is written with the circuit-breaker step that follows at once (same row, one write).
      await advance(
        {
          type: 'polled',
          at: now(),
          ready: cls === 'ready',
          statusText: status.status,
          response: status.raw,
        },
        cls !== 'ready',
      );
      if (cls === 'failed') throw new StepFailure(step, failedStatusMessage(status.status, status.message));
      ready = cls === 'ready';
    }
    if (!ready) throw new StepFailure(step, notReadyMessage(opts.maxPolls, last, opts.pollIntervalMs));

    step = 'circuit_breaker';
    await advance({ type: 'circuit_breaker_initiated', at: now() });
    const breaker = await api.triggerCircuitBreaker({
      request: {
        policy_id: created.policyId,
        execution_id: created.executionId ?? executionId,
        trigger_reason: 'policy_execution_completed',
        timestamp: now(),
      },
      idempotencyKey: idempotencyKey(executionId, 'circuit', keyRun),
      state: writes.carry(),
    });
    await advance({ type: 'circuit_breaker_completed', at: now(), response: breaker.raw });
  } catch (err) {
    if (err instanceof StepFailure) return fail(err.step, err.reason);
    if (isCancellation(err)) return fail(step, 'execution was cancelled');
    if (err instanceof ActivityFailure) return fail(step, describeActivityFailure(err));
    throw err;
  }
  return row;
}
