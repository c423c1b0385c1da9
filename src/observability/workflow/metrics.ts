/**
 * The metrics workflows emit (through the SDK's workflow metric meter: never during replay):
 * executions started by trigger, finished by terminal status and step, their duration, and the
 * model refresher's lag (first refresh ask of a batch to its successful dbt run). Sandbox-safe.
 */
import {
  ApplicationFailure,
  isCancellation,
  metricMeter,
  TemporalFailure,
  workflowInfo,
} from '@temporalio/workflow';
import { METRIC } from '../metric-names';

export type FinishStatus = 'completed' | 'error' | 'cancelled' | 'failed';

/** How an execution's run ended, from its result or what it threw; null: not an ending (a workflow task failure). */
export function endingOf(err: unknown): { status: FinishStatus; step: string } | null {
  if (err instanceof ApplicationFailure) {
    if (err.type === 'InvalidPolicyInput') return { status: 'error', step: 'input' };
    if (err.type === 'PolicyExecutionFailed') {
      const step = (err.details?.[0] as { step?: unknown } | undefined)?.step;
      return { status: 'error', step: typeof step === 'string' ? step : 'unknown' };
    }
  }
  if (isCancellation(err)) return { status: 'cancelled', step: 'none' };
  if (err instanceof TemporalFailure) return { status: 'failed', step: 'none' };
  return null;
}

/** The instruments of one execution (created per workflow: the meter works in workflow context only). */
export function executionMetrics() {
  const started = metricMeter.createCounter(
    METRIC.executionsStarted,
    '1',
    'Policy executions started, by how they were started (trigger)',
  );
  const finished = metricMeter.createCounter(
    METRIC.executionsFinished,
    '1',
    'Policy executions ended, by terminal status and the step that failed',
  );
  const duration = metricMeter.createHistogram(
    METRIC.executionDuration,
    'int',
    'ms',
    'Policy execution time from run start to its end',
  );
  return {
    started(trigger: string): void {
      started.add(1, { trigger });
    },
    finished(ending: { status: FinishStatus; step: string }): void {
      finished.add(1, ending);
      duration.record(Math.max(0, Date.now() - workflowInfo().runStartTime.getTime()), {
        status: ending.status,
      });
    },
  };
}

/**
 * The refresher's lag: from the first ask of a batch to the end of its successful dbt run. Follows
 * the asks the way the refresher does (a failed batch keeps its asks, so its first ask stays).
 */
export function refreshLagMetrics() {
  const lag = metricMeter.createHistogram(
    METRIC.dbtRefreshLag,
    'int',
    'ms',
    'Time from the first refresh ask of a batch to its successful model refresh',
  );
  let pendingSince: number | null = null;
  return {
    asked(): void {
      pendingSince ??= Date.now();
    },
    /** A dbt run starts: it serves every ask so far. Returns when its batch was first asked for. */
    runStarts(): number | null {
      const since = pendingSince;
      pendingSince = null;
      return since;
    },
    runEnded(since: number | null, ok: boolean): void {
      if (since === null) return;
      if (ok) lag.record(Math.max(0, Date.now() - since));
      else pendingSince = Math.min(pendingSince ?? since, since);
    },
  };
}
