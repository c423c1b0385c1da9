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
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { PolicyActivities } from '../activities';
import {
  API_ACTIVITY_HEARTBEAT,
  API_ACTIVITY_START_TO_CLOSE_MS,
  breakerCompletedEvent,
  classifyPolicyStatus,
  failedStatusMessage,
  idempotencyKey,
  initialState,
  notReadyMessage,
  polledEvent,
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
import { renderCurrentDetails } from '../policy/details';
import { stateWrites } from './state-writes';

/**
 * Histories recorded before this patch use idempotency keys without the run chain
 * (test/fixtures/histories); executions started since name it, so a re-run gets keys of its own.
 */
const RUN_SCOPED_KEYS_PATCH = 'idempotency-keys-per-run';

/**
 * The current patch: one marker for everything the earlier patches switched on, and what is new with
 * it: the circuit-breaker activity also writes the terminal `completed` row once the API has accepted
 * the trigger (computed from the carried row by the same transition rules; the activity returns only
 * the time it stamped, from which the workflow computes the same row) and hands the model refresh
 * ask to the worker, so a completed execution ends without a local activity of its own; and every
 * pending poll that a delay follows writes its own row, also when it carries none (it is handed the
 * current row as its `base`), so no delay needs a write of its own (docs/design.md, decision 21;
 * docs/performance-log.md, change 11). One patch stands for the ones before it: each patch is a
 * marker and a TemporalChangeVersion search-attribute upsert in every execution's history
 * (change 9).
 * Histories recorded before it replay through the older patches (test/fixtures/histories).
 */
const CURRENT_PATCH = 'policy-execution-2026-11-30-final-row';

/**
 * The patch before: rows ride on the activities (`state-writes-ride-activities`), keys name the run
 * chain (`idempotency-keys-per-run`), and a status poll that carries the current row and that
 * another poll follows after a delay writes its own `polled` row, so that row is in the table before
 * the durable timer starts without a state write of its own on the critical path.
 */
const POLL_ROWS_PATCH = 'policy-execution-2026-11-30';

/** A row at most this long (as JSON) may travel to a status poll a second time, as its `base`. */
const MAX_BASE_ROW_CHARS = 32 * 1024;

function isSmall(row: StateRow): boolean {
  return JSON.stringify(row).length <= MAX_BASE_ROW_CHARS;
}

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
  const current = patched(CURRENT_PATCH);
  // Only when the current patch is absent (a history recorded before it): no marker otherwise.
  const pollRows = current || patched(POLL_ROWS_PATCH);
  const writes = stateWrites(executionId, pollRows);

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
  /**
   * The row moves on by `event`; `write` false: an activity has written (or carries) it. A promise
   * only when a write must be awaited here: every promise in workflow code costs a stack capture in
   * the SDK's promise hook, so the riding path returns nothing (docs/performance-log.md, change 9).
   */
  const advance = (event: StateEvent, write = true): Promise<void> | undefined => {
    row = transition(row, event);
    // What the Web UI shows as the execution's current details (docs/operations.md#the-web-ui).
    setCurrentDetails(
      renderCurrentDetails({ row, event, maxPolls: options.ok ? options.value.maxPolls : null }),
    );
    if (event.type === 'policy_created') lastStatus = null;
    upsertStatus();
    if (!write) return undefined;
    if (row.status === 'completed' || row.status === 'error') return writes.finish(row, refreshWanted);
    return writes.changed(row);
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
  const initial = writes.changed(row);
  if (initial) await initial;

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
    // The client's own deadline (30 s by default, at most MAX_API_TIMEOUT_MS) fires first; this
    // bounds the whole attempt, its call and its state writes.
    startToCloseTimeout: API_ACTIVITY_START_TO_CLOSE_MS,
    // An attempt that stops beating (its worker died, or it never reached one) is retried after this.
    heartbeatTimeout: API_ACTIVITY_HEARTBEAT.timeoutMs,
    retry: {
      initialInterval: opts.retry.initialIntervalMs,
      backoffCoefficient: 2,
      maximumInterval: opts.retry.maximumIntervalMs,
      maximumAttempts: opts.retry.maximumAttempts,
    },
  });

  let step: Step = 'create_policy';
  // A reset keeps originalExecutionRunId (same execution, same keys); a re-run of the id does not.
  const keyRun = pollRows || patched(RUN_SCOPED_KEYS_PATCH) ? info.originalExecutionRunId : undefined;
  try {
    const created = await api.createPolicy({
      policy: policy.value,
      executionId,
      idempotencyKey: idempotencyKey(executionId, 'create', keyRun),
      state: writes.carry(),
    });
    const createdWrite = advance({
      type: 'policy_created',
      at: now(),
      policyId: created.policyId,
      response: created.raw,
    });
    if (createdWrite) await createdWrite;

    step = 'poll_status';
    let ready = false;
    let last = '';
    for (let i = 0; i < opts.maxPolls && !ready; i++) {
      if (i > 0 && opts.pollIntervalMs > 0) {
        const flushed = writes.flush();
        if (flushed) await flushed;
        await sleep(opts.pollIntervalMs);
      }
      const carried = writes.carry();
      // Another poll follows after a delay: the activity also writes this poll's row, computed from
      // the row it carries or, under the current patch, from the current row handed as its `base`
      // when that row is small (a row travelling twice must not push a history with big API answers
      // past a history page; such a poll's row is written before the delay instead).
      const delayFollows = i + 1 < opts.maxPolls && opts.pollIntervalMs > 0;
      const base = current && delayFollows && !carried && isSmall(row) ? row : undefined;
      const writePolledRow = pollRows && delayFollows && !!(carried ?? base);
      const status = await api.getPolicyStatus({
        policyId: created.policyId,
        state: carried,
        ...(base ? { base } : {}),
        ...(writePolledRow ? { writePolledRow } : {}),
      });
      const cls = classifyPolicyStatus(status.status);
      last = status.status;
      // A ready poll is written with the circuit-breaker step that follows at once (same row, one
      // write); a poll row the activity wrote is the same row, stamped with its time.
      const polledWrite = advance(
        polledEvent(status.polledRowAt ?? now(), status, cls === 'ready'),
        cls !== 'ready' && !status.polledRowAt,
      );
      if (polledWrite) await polledWrite;
      if (cls === 'failed') throw new StepFailure(step, failedStatusMessage(status.status, status.message));
      ready = cls === 'ready';
    }
    if (!ready) throw new StepFailure(step, notReadyMessage(opts.maxPolls, last, opts.pollIntervalMs));

    step = 'circuit_breaker';
    const initiatedWrite = advance({ type: 'circuit_breaker_initiated', at: now() });
    if (initiatedWrite) await initiatedWrite;
    const initiated = writes.carry();
    const breaker = await api.triggerCircuitBreaker({
      request: {
        policy_id: created.policyId,
        execution_id: created.executionId ?? executionId,
        trigger_reason: 'policy_execution_completed',
        timestamp: now(),
      },
      idempotencyKey: idempotencyKey(executionId, 'circuit', keyRun),
      state: initiated,
      // The activity writes the terminal row too (and asks for the refresh): no write of our own.
      ...(current && initiated ? { finish: { refresh: refreshWanted } } : {}),
    });
    const completedWrite = advance(
      breakerCompletedEvent(breaker.completedRowAt ?? now(), breaker.raw),
      !breaker.completedRowAt,
    );
    if (completedWrite) await completedWrite;
  } catch (err) {
    if (err instanceof StepFailure) return fail(err.step, err.reason);
    if (isCancellation(err)) return fail(step, 'execution was cancelled');
    if (err instanceof ActivityFailure) return fail(step, describeActivityFailure(err));
    throw err;
  }
  return row;
}
