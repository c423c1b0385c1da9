/**
 * The worker's activity interceptor: metrics and context for every activity, outside the activity
 * bodies.
 *   - policy API calls (createPolicy, getPolicyStatus, triggerCircuitBreaker): latency, outcome and
 *     failure class by step, breaker rejections, and the class of every polled status;
 *   - model refreshes (runModelRefresh): duration and outcome;
 *   - the execution id, policy id and step on the activity's log lines and trace span;
 *   - a log line per state row written (info; warn for an `error` row): the row an activity carries
 *     or is handed, and the row an API activity wrote itself (src/policy/own-rows.ts); and one per
 *     failed API call (warn).
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Context } from '@temporalio/activity';
import type {
  ActivityExecuteInput,
  ActivityInboundCallsInterceptor,
  ActivityInterceptorsFactory,
  ActivityOutboundCallsInterceptor,
  GetLogAttributesInput,
  Next,
} from '@temporalio/worker';
import * as otel from '@opentelemetry/api';
import { STEP_OF_STATUS } from '../policy/details';
import { ownRowOf } from '../policy/own-rows';
import type { StateRow } from '../policy/state';
import { classifyPolicyStatus } from '../policy/status';
import type { PolicyMetrics } from './metrics';
import { SPAN_ATTRIBUTES } from './workflow/tracing';

/** The step each policy API activity is. */
const API_STEP: Record<string, string> = {
  createPolicy: 'create_policy',
  getPolicyStatus: 'poll_status',
  triggerCircuitBreaker: 'circuit_breaker',
};

function field(v: unknown, ...path: string[]): string | undefined {
  let out: unknown = v;
  for (const key of path) {
    if (out === null || typeof out !== 'object') return undefined;
    out = (out as Record<string, unknown>)[key];
  }
  return typeof out === 'string' && out !== '' ? out : undefined;
}

/** The execution id, policy id and step an activity works for, from its input. */
export function activityContext(activityType: string, args: readonly unknown[], workflowId?: string) {
  const arg = args[0];
  const row = rowOf(activityType, arg);
  const executionId =
    field(arg, 'executionId') ??
    field(arg, 'request', 'execution_id') ??
    field(row, 'execution_id') ??
    workflowId;
  const policyId = field(arg, 'policyId') ?? field(arg, 'request', 'policy_id') ?? field(row, 'policy_id');
  const step =
    API_STEP[activityType] ??
    (activityType === 'runModelRefresh' ? 'model_refresh' : undefined) ??
    (row !== undefined ? stepOfRow(row) : undefined);
  return { executionId, policyId, step };
}

/**
 * The state row an activity writes: recordState's argument, finishExecution's `row`, or the `state`
 * an API activity carries alongside its call (src/workflows/state-writes.ts).
 */
function rowOf(activityType: string, arg: unknown): unknown {
  if (activityType === 'recordState') return arg;
  if (arg === null || typeof arg !== 'object') return undefined;
  if (activityType === 'finishExecution') return (arg as { row?: unknown }).row;
  return API_STEP[activityType] !== undefined ? (arg as { state?: unknown }).state : undefined;
}

/** The step a state row is at: its status's, or the failed step of an `error` row (its error says). */
function stepOfRow(row: unknown): string | undefined {
  const status = field(row, 'status') as StateRow['status'] | undefined;
  if (status === undefined) return undefined;
  return STEP_OF_STATUS[status] ?? status;
}

/** The class of a policy API failure: its kind (`timeout`, `invalid_json`, ...), HTTP ones by status. */
export function apiErrorClass(kind: string, httpStatus: unknown): string {
  if (kind !== 'http') return kind;
  if (typeof httpStatus !== 'number') return 'http';
  return httpStatus === 429 || httpStatus === 408
    ? `http_${httpStatus}`
    : `http_${Math.floor(httpStatus / 100)}xx`;
}

/** The class of a failed API activity: the client's error class, or the failure's type. */
function failureClass(err: unknown): string {
  if (!(err instanceof ApplicationFailure)) return 'other';
  const type = err.type ?? '';
  if (!type.startsWith('PolicyApiError.')) return type || 'other';
  const status = (err.details?.[0] as { httpStatus?: unknown } | undefined)?.httpStatus;
  return apiErrorClass(type.slice('PolicyApiError.'.length), status);
}

type About = ReturnType<typeof activityContext>;

class ObservedActivity implements ActivityInboundCallsInterceptor {
  /** What the activity works for, once it runs (for its log lines). */
  about: About = { executionId: undefined, policyId: undefined, step: undefined };

  constructor(
    private readonly ctx: Context,
    private readonly metrics: PolicyMetrics,
  ) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>) {
    const type = this.ctx.info.activityType;
    const about = (this.about = activityContext(
      type,
      input.args,
      this.ctx.info.workflowExecution?.workflowId,
    ));
    const span = otel.trace.getActiveSpan();
    if (span) {
      if (about.executionId) span.setAttribute(SPAN_ATTRIBUTES.executionId, about.executionId);
      if (about.policyId) span.setAttribute(SPAN_ATTRIBUTES.policyId, about.policyId);
    }
    const step = API_STEP[type];
    // One line per row (not per retry of the activity carrying it).
    const row = rowOf(type, input.args[0]);
    if (row !== undefined && this.ctx.info.attempt === 1) logRow(this.ctx, row);
    if (step === undefined && type !== 'runModelRefresh') return next(input);
    const started = performance.now();
    try {
      const result = await next(input);
      const own = ownRowOf(type, input.args[0], result);
      if (own) logRow(this.ctx, own);
      if (step !== undefined) {
        this.metrics.apiCall({ step, outcome: 'ok', errorClass: 'ok' });
        if (type === 'getPolicyStatus')
          this.metrics.pollResult(classifyPolicyStatus(field(result, 'status')));
      } else {
        const ms = (result as { durationMs?: unknown } | null)?.durationMs;
        this.metrics.dbtRefresh({
          ok: true,
          durationMs: typeof ms === 'number' ? ms : performance.now() - started,
        });
      }
      return result;
    } catch (err) {
      if (step !== undefined) {
        const errorClass = failureClass(err);
        this.metrics.apiCall({ step, outcome: 'error', errorClass });
        this.ctx.log.warn(`policy API call failed (${errorClass}): ${errorMessage(err)}`, {
          attempt: this.ctx.info.attempt,
          errorClass,
        });
      } else this.metrics.dbtRefresh({ ok: false, durationMs: performance.now() - started });
      throw err;
    }
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** One line per state row written: the execution's progress in the log. */
function logRow(ctx: Context, row: unknown): void {
  const status = field(row, 'status');
  if (status === undefined) return;
  const r = row as Partial<StateRow>;
  const fields = { status, stateVersion: r.state_version, pollCount: r.poll_count };
  if (status === 'error') ctx.log.warn(`execution failed: ${r.error_message ?? ''}`, fields);
  else ctx.log.info(`execution ${status}`, fields);
}

class ActivityLogContext implements ActivityOutboundCallsInterceptor {
  constructor(private readonly activity: ObservedActivity) {}

  getLogAttributes(
    input: GetLogAttributesInput,
    next: Next<ActivityOutboundCallsInterceptor, 'getLogAttributes'>,
  ) {
    const extra: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.activity.about)) if (v !== undefined) extra[k] = v;
    return next({ ...extra, ...input });
  }
}

/** The interceptor factory for `interceptors.activity` (after the tracing one, so its span is active). */
export function observedActivities(metrics: PolicyMetrics): ActivityInterceptorsFactory {
  return (ctx) => {
    const inbound = new ObservedActivity(ctx, metrics);
    return { inbound, outbound: new ActivityLogContext(inbound) };
  };
}
