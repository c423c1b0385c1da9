/**
 * Observability of a process, wired once: the structured logger, the Temporal runtime (its logger
 * and the Prometheus endpoint), the project's metrics and tracing; and what the worker, its clients,
 * its warehouse and its activities need from them. The worker calls setupObservability() first
 * thing; code that runs without it (tests that install their own runtime) gets the passive
 * default: metrics on whatever runtime is installed, tracing off, logs to stdout.
 */
import type { ClientInterceptors } from '@temporalio/client';
import { Runtime, type WorkerOptions } from '@temporalio/worker';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { CircuitState, type CircuitBreakerPolicy } from 'cockatiel';
import type { PolicyApiConfig } from '../policy-api/client';
import type { BatchObserver } from '../warehouse/batch-writer';
import { observedActivities } from './activity-interceptor';
import { createLogger, logSettingsFromEnv, routeConsole, type StructuredLogger } from './logging';
import { createPolicyMetrics, type BreakerStateName, type PolicyMetrics } from './metrics';
import { installRuntime, metricsSettingsFromEnv, type MetricsSettings } from './runtime';
import { currentTracing, setupTracing, type Tracing } from './tracing';

export interface Observability {
  logger: StructuredLogger;
  tracing: Tracing;
  /** The metrics endpoint (`host:port`), or null when off. */
  metricsAddress: string | null;
  metrics(): PolicyMetrics;
  /** For Worker.create: the activity interceptors (tracing first) and the workflow span sink. */
  workerOptions(): Pick<WorkerOptions, 'interceptors' | 'sinks'>;
  /** For new Client(...): tracing of starts and signals, when on. */
  clientInterceptors(): ClientInterceptors;
  /** For createActivities: follows the circuit breaker's state. */
  observeBreaker(breaker: CircuitBreakerPolicy): void;
  /** For createWarehouse: every state write batch. */
  onBatch: BatchObserver;
  /** For createPolicyApiClient: every HTTP request's latency. */
  onApiCall: NonNullable<PolicyApiConfig['onCall']>;
  /** Exports the spans left; call before the process ends. */
  shutdown(): Promise<void>;
}

const BREAKER_STATES: Record<CircuitState, BreakerStateName> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half_open',
  [CircuitState.Isolated]: 'isolated',
};

function build(logger: StructuredLogger, tracing: Tracing, metricsAddress: string | null): Observability {
  let metrics: PolicyMetrics | undefined;
  const getMetrics = () => (metrics ??= createPolicyMetrics(Runtime.instance().metricMeter));
  return {
    logger,
    tracing,
    metricsAddress,
    metrics: getMetrics,
    workerOptions: () => ({
      interceptors: { activity: [...tracing.activityInterceptors(), observedActivities(getMetrics())] },
      sinks: tracing.sinks(),
    }),
    clientInterceptors: () => tracing.clientInterceptors(),
    observeBreaker(breaker) {
      getMetrics().breakerState(BREAKER_STATES[breaker.state]);
      breaker.onStateChange((state) => getMetrics().breakerState(BREAKER_STATES[state]));
    },
    onBatch: (batch) => getMetrics().warehouseBatch(batch),
    onApiCall: ({ step, durationMs, error }) =>
      getMetrics().apiLatency({ step, durationMs, outcome: error ? 'error' : 'ok' }),
    shutdown: () => tracing.shutdown(),
  };
}

let current: Observability | undefined;
let passive: Observability | undefined;

export interface SetupOptions {
  /** `component` of the process's log lines and the spans' service (policy-execution-<component>). */
  component: string;
  env?: NodeJS.ProcessEnv;
  /** Install the Temporal runtime (logger, Prometheus); default true. */
  installRuntime?: boolean;
  /** Overrides METRICS_PORT / METRICS_HOST. */
  metrics?: MetricsSettings;
  /** Send console.* through the structured logger; default true. */
  routeConsole?: boolean;
  /** Tests: where spans go (tracing on without OTLP). */
  spanProcessor?: SpanProcessor;
  /** Tests: where log lines go. */
  write?: (line: string) => void;
}

/** Sets up this process's observability (once; before any Worker or NativeConnection). */
export function setupObservability(opts: SetupOptions): Observability {
  if (current) return current;
  const env = opts.env ?? process.env;
  const logger = createLogger({ ...logSettingsFromEnv(env), component: opts.component, write: opts.write });
  const metrics = opts.metrics ?? metricsSettingsFromEnv(env);
  if (opts.installRuntime !== false) installRuntime(logger, metrics);
  if (opts.routeConsole !== false) routeConsole(logger);
  const tracing = setupTracing({
    serviceName: `policy-execution-${opts.component}`,
    env,
    spanProcessor: opts.spanProcessor,
  });
  return (current = build(logger, tracing, metrics.bindAddress));
}

/** This process's observability, or the passive default (see the module comment). */
export function observability(): Observability {
  return (
    current ??
    (passive ??= build(
      createLogger({ ...logSettingsFromEnv(), component: 'worker' }),
      currentTracing(),
      null,
    ))
  );
}
