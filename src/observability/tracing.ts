/**
 * OpenTelemetry tracing (docs/operations.md#traces): one trace from a start (the CLI, the bulk path,
 * the dispatcher; a schedule's run is the root of its own) through the workflow to each policy API
 * call, with the execution id and the policy id as span attributes, through
 * @temporalio/interceptors-opentelemetry. Spans are exported over OTLP/HTTP when
 * OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set; otherwise tracing is
 * off and costs nothing: no interceptors, no trace context on any start, so the workflow's own
 * tracing interceptors stay idle too (workflow/tracing.ts). Tests hand in a span processor.
 *
 * The OpenTelemetry SDK (the tracer provider, the OTLP exporter, the context manager, Temporal's
 * interceptors) is loaded when tracing is set up, not with this module: a process with tracing off
 * does not hold it (~3 MB of a worker's heap, docs/performance-log.md, change 22).
 */
import * as otel from '@opentelemetry/api';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ScheduleClientInterceptor, WorkflowClientInterceptor } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { OpenTelemetrySinks } from '@temporalio/interceptors-opentelemetry';
import { TRACE_HEADER } from '@temporalio/interceptors-opentelemetry/lib/instrumentation';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import { SPAN_ATTRIBUTES } from './workflow/tracing';

// Loaded on first use only (see above).
/* eslint-disable @typescript-eslint/no-require-imports */
const sdk = () => ({
  asyncHooks:
    require('@opentelemetry/context-async-hooks') as typeof import('@opentelemetry/context-async-hooks'),
  core: require('@opentelemetry/core') as typeof import('@opentelemetry/core'),
  exporter:
    require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http'),
  resources: require('@opentelemetry/resources') as typeof import('@opentelemetry/resources'),
  traceBase: require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base'),
  temporal:
    require('@temporalio/interceptors-opentelemetry') as typeof import('@temporalio/interceptors-opentelemetry'),
});
/* eslint-enable @typescript-eslint/no-require-imports */

export { SPAN_ATTRIBUTES };

export interface Tracing {
  readonly enabled: boolean;
  /** For a Client's `interceptors`: traces starts and signals, carries the trace context. */
  clientInterceptors(): { workflow: WorkflowClientInterceptor[]; schedule: ScheduleClientInterceptor[] };
  /** For a Worker's `interceptors.activity`: continues the trace in each activity. */
  activityInterceptors(): ActivityInterceptorsFactory[];
  /** For a Worker's `sinks`: the workflow spans' way out of the sandbox (always registered). */
  sinks(): InjectedSinks<OpenTelemetrySinks>;
  /** The W3C trace context of the active span (`traceparent`), for an outgoing HTTP request. */
  readonly headers: () => Record<string, string>;
  /** Exports the spans ended so far (a short-lived process, before it exits). */
  flush(): Promise<void>;
  /** Exports what is left and stops tracing (the owner of the process, at its end). */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** `service.name` of the spans (e.g. policy-execution-worker). */
  serviceName: string;
  env?: NodeJS.ProcessEnv;
  /** Where spans go instead of OTLP (tests: an in-memory exporter's processor). */
  spanProcessor?: SpanProcessor;
}

/** Whether OTLP export is configured in `env`. */
export function otlpConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

const noopSinks = (): InjectedSinks<OpenTelemetrySinks> => ({
  exporter: { export: { fn: () => undefined } },
});

const disabled: Tracing = {
  enabled: false,
  clientInterceptors: () => ({ workflow: [], schedule: [] }),
  activityInterceptors: () => [],
  sinks: noopSinks,
  headers: () => ({}),
  flush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};

/**
 * Schedules: each run a schedule starts is traced as a trace of its own. The schedule's action
 * carries an empty trace context, which tells the workflow interceptors to trace its runs.
 */
const scheduleInterceptor: ScheduleClientInterceptor = {
  create: (input, next) =>
    next({ ...input, headers: { ...input.headers, [TRACE_HEADER]: defaultPayloadConverter.toPayload({}) } }),
};

/** Puts the execution id on the client's start span. */
const startAttributes: WorkflowClientInterceptor = {
  start: (input, next) => {
    otel.trace.getActiveSpan()?.setAttribute(SPAN_ATTRIBUTES.executionId, input.options.workflowId);
    return next(input);
  },
};

let installed: Tracing | undefined;

/** Sets tracing up for this process (once; later calls return the first). */
export function setupTracing(opts: TracingOptions): Tracing {
  if (installed) return installed;
  const env = opts.env ?? process.env;
  if (!opts.spanProcessor && !otlpConfigured(env)) return (installed = disabled);
  const { asyncHooks, core, exporter, resources, traceBase, temporal } = sdk();
  const { BasicTracerProvider, BatchSpanProcessor } = traceBase;
  // The exporter reads OTEL_EXPORTER_OTLP_* (endpoint, headers, timeout) itself.
  const processor = opts.spanProcessor ?? new BatchSpanProcessor(new exporter.OTLPTraceExporter());
  const resource = new resources.Resource({ 'service.name': env.OTEL_SERVICE_NAME || opts.serviceName });
  const provider = new BasicTracerProvider({ resource, spanProcessors: [processor] });
  provider.register({
    contextManager: new asyncHooks.AsyncLocalStorageContextManager(),
    propagator: new core.W3CTraceContextPropagator(),
  });
  const tracer = provider.getTracer('policy-execution');
  installed = {
    enabled: true,
    clientInterceptors: () => ({
      workflow: [new temporal.OpenTelemetryWorkflowClientInterceptor({ tracer }), startAttributes],
      schedule: [scheduleInterceptor],
    }),
    activityInterceptors: () => [
      (ctx) => ({
        inbound: new temporal.OpenTelemetryActivityInboundInterceptor(ctx, { tracer }),
        outbound: new temporal.OpenTelemetryActivityOutboundInterceptor(ctx),
      }),
    ],
    sinks: () => ({ exporter: temporal.makeWorkflowExporter(processor, resource) }),
    headers: () => {
      const carrier: Record<string, string> = {};
      otel.propagation.inject(otel.context.active(), carrier);
      return carrier;
    },
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
  return installed;
}

/** This process's tracing: what setupTracing installed, or off. */
export function currentTracing(): Tracing {
  return installed ?? disabled;
}
