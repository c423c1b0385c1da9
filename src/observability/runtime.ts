/**
 * The Temporal SDK runtime of a worker process, installed once before any worker or connection:
 * its logger (the SDK's own records, workflow and activity logs, and Core's logs forwarded) is the
 * structured logger, and its Prometheus exporter serves the SDK's worker metrics and the project's
 * (`policy_execution_*`) on METRICS_HOST:METRICS_PORT/metrics (default 127.0.0.1:9464;
 * METRICS_PORT=0 turns it off).
 */
import { makeTelemetryFilterString, Runtime, type TelemetryOptions } from '@temporalio/worker';
import { intFromEnv } from '../config';
import { runtimeLogger, type StructuredLogger } from './logging';
import { METRIC_BUCKETS } from './metric-names';

export const DEFAULT_METRICS_PORT = 9464;

export interface MetricsSettings {
  /** null: no metrics endpoint. */
  bindAddress: string | null;
}

export function metricsSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): MetricsSettings {
  const port = intFromEnv(env, 'METRICS_PORT', DEFAULT_METRICS_PORT);
  if (port > 65535)
    throw new Error(`METRICS_PORT must be a port number (0 turns metrics off), got '${port}'`);
  const host = (env.METRICS_HOST || '127.0.0.1').trim();
  return { bindAddress: port === 0 ? null : `${host.includes(':') ? `[${host}]` : host}:${port}` };
}

/** The telemetry options: Core's logs forwarded at the logger's level, and Prometheus if asked for. */
export function telemetryOptions(logger: StructuredLogger, metrics: MetricsSettings): TelemetryOptions {
  const level = logger.settings.level;
  return {
    logging: {
      filter: makeTelemetryFilterString({ core: level === 'TRACE' || level === 'DEBUG' ? level : 'WARN' }),
      forward: {},
    },
    ...(metrics.bindAddress === null
      ? {}
      : {
          metrics: {
            prometheus: {
              bindAddress: metrics.bindAddress,
              histogramBucketOverrides: METRIC_BUCKETS,
            },
          },
        }),
  };
}

/** Installs the runtime (once per process; before any Worker, NativeConnection or TestWorkflowEnvironment). */
export function installRuntime(logger: StructuredLogger, metrics: MetricsSettings): Runtime {
  try {
    return Runtime.install({
      logger: runtimeLogger(logger),
      telemetryOptions: telemetryOptions(logger, metrics),
    });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    if (metrics.bindAddress === null || !/prometheus/i.test(why)) throw err;
    throw new Error(
      `${why}: the metrics endpoint ${metrics.bindAddress} is taken; ` +
        'set METRICS_PORT to a free port, or METRICS_PORT=0 to run without it',
    );
  }
}
