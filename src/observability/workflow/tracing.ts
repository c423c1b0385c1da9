/**
 * Tracing inside the workflow sandbox: the OpenTelemetry workflow interceptors of
 * @temporalio/interceptors-opentelemetry, switched on per execution. An execution is traced when its
 * start carried a trace context (the `_tracer-data` header the project's clients add when tracing is
 * on: the CLI, the bulk path, the dispatcher, schedules); any other execution (`temporal workflow
 * start`, tracing off) costs nothing here. The header is in the execution's history, so a replay
 * decides the same way. Spans leave the sandbox through the `exporter` sink (src/observability/tracing.ts).
 *
 * The OpenTelemetry modules are required on the first traced call, not at the top: every module of
 * the bundle that is not preloaded is evaluated once per workflow, and evaluating the OpenTelemetry
 * SDK for every untraced execution cost ~11 ms of worker CPU and memory in each cached workflow
 * (docs/performance-log.md, change 9).
 */
import type {
  OpenTelemetryInboundInterceptor,
  OpenTelemetryInternalsInterceptor,
  OpenTelemetryOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/workflow';
import type {
  WorkflowInboundCallsInterceptor,
  WorkflowInternalsInterceptor,
  WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';

type OtelWorkflowModule = typeof import('@temporalio/interceptors-opentelemetry/lib/workflow');
type OtelApi = typeof import('@opentelemetry/api');

// The bundler resolves these requires into the bundle; they run on the first traced call only.
/* eslint-disable no-restricted-globals, @typescript-eslint/no-require-imports */
const otelWorkflow = (): OtelWorkflowModule =>
  require('@temporalio/interceptors-opentelemetry/lib/workflow') as OtelWorkflowModule;
const otelApi = (): OtelApi => require('@opentelemetry/api') as OtelApi;
/* eslint-enable no-restricted-globals, @typescript-eslint/no-require-imports */

/**
 * The header a traced start carries: the library's TRACE_HEADER (its instrumentation module loads the
 * OpenTelemetry API, so it is not imported here; test/unit/observability.test.ts checks they agree).
 */
export const TRACE_HEADER = '_tracer-data';

/** What the other interceptors of an execution need to know of its tracing. */
export interface TraceState {
  traced: boolean;
}

/** The span attributes naming an execution (also set by the worker's activity interceptor). */
export const SPAN_ATTRIBUTES = { executionId: 'policy.execution_id', policyId: 'policy.id' } as const;

/** Sets attributes on the active span, if this execution is traced. */
export function setSpanAttributes(state: TraceState, attributes: Record<string, string | undefined>): void {
  if (!state.traced) return;
  const span = otelApi().trace.getActiveSpan();
  if (!span) return;
  for (const [key, value] of Object.entries(attributes))
    if (value !== undefined) span.setAttribute(key, value);
}

/** The OpenTelemetry interceptors, each call passed to them only when the execution is traced. */
export function tracingInterceptors(state: TraceState): {
  inbound: WorkflowInboundCallsInterceptor;
  outbound: WorkflowOutboundCallsInterceptor;
  internals: WorkflowInternalsInterceptor;
} {
  let inbound: OpenTelemetryInboundInterceptor | undefined;
  let outbound: OpenTelemetryOutboundInterceptor | undefined;
  let internals: OpenTelemetryInternalsInterceptor | undefined;
  const otelIn = () => (inbound ??= new (otelWorkflow().OpenTelemetryInboundInterceptor)());
  const otelOut = () => (outbound ??= new (otelWorkflow().OpenTelemetryOutboundInterceptor)());
  const otelInternals = () => (internals ??= new (otelWorkflow().OpenTelemetryInternalsInterceptor)());
  return {
    inbound: {
      execute(input, next) {
        state.traced = input.headers[TRACE_HEADER] !== undefined;
        return state.traced ? otelIn().execute(input, next) : next(input);
      },
      handleSignal: (input, next) => (state.traced ? otelIn().handleSignal(input, next) : next(input)),
      handleUpdate: (input, next) => (state.traced ? otelIn().handleUpdate(input, next) : next(input)),
      validateUpdate: (input, next) => (state.traced ? otelIn().validateUpdate(input, next) : next(input)),
      handleQuery: (input, next) => (state.traced ? otelIn().handleQuery(input, next) : next(input)),
    },
    outbound: {
      scheduleActivity: (input, next) =>
        state.traced ? otelOut().scheduleActivity(input, next) : next(input),
      scheduleLocalActivity: (input, next) =>
        state.traced ? otelOut().scheduleLocalActivity(input, next) : next(input),
      startChildWorkflowExecution: (input, next) =>
        state.traced ? otelOut().startChildWorkflowExecution(input, next) : next(input),
      continueAsNew: (input, next) => (state.traced ? otelOut().continueAsNew(input, next) : next(input)),
      signalWorkflow: (input, next) => (state.traced ? otelOut().signalWorkflow(input, next) : next(input)),
      getLogAttributes: (input, next) =>
        state.traced ? otelOut().getLogAttributes(input, next) : next(input),
    },
    internals: {
      dispose: (input, next) => {
        if (state.traced) void otelInternals().dispose(input, next);
        else next(input);
      },
    },
  };
}
