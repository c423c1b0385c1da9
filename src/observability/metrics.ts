/**
 * The worker's own instruments on the SDK runtime's metric meter (exported with the SDK's worker
 * metrics on the Prometheus endpoint, runtime.ts): policy API calls, the circuit breaker, warehouse
 * batches, dbt refreshes, the dispatcher and the reconciler. Names: metric-names.ts; what each
 * means and the alerts on them: docs/operations.md#metrics. Workflows report theirs themselves
 * (workflow/metrics.ts).
 */
import type { MetricMeter } from '@temporalio/common';
import { METRIC } from './metric-names';

export type BreakerStateName = 'closed' | 'open' | 'half_open' | 'isolated';
const BREAKER_STATE_VALUE: Record<BreakerStateName, number> = {
  closed: 0,
  half_open: 1,
  open: 2,
  isolated: 3,
};

export interface ApiCallRecord {
  /** create_policy, poll_status, circuit_breaker */
  step: string;
  outcome: 'ok' | 'error';
  /** ok, or the failure's class (http_5xx, http_429, circuit_open, timeout, ...). */
  errorClass: string;
}

export interface BatchRecord {
  rows: number;
  durationMs: number;
  ok: boolean;
}

export function createPolicyMetrics(meter: MetricMeter) {
  const apiCalls = meter.createCounter(
    METRIC.apiCalls,
    '1',
    'Policy API calls (activity attempts) by step, outcome and class',
  );
  const apiLatency = meter.createHistogram(
    METRIC.apiCallLatency,
    'int',
    'ms',
    'Policy API HTTP request latency by step and outcome',
  );
  const pollResults = meter.createCounter(
    METRIC.pollResults,
    '1',
    'Status polls by the class of status the API returned',
  );
  const breakerState = meter.createGauge(
    METRIC.breakerState,
    'int',
    '1',
    'Policy API circuit breaker: 0 closed, 1 half-open, 2 open, 3 isolated',
  );
  const breakerRejections = meter.createCounter(
    METRIC.breakerRejections,
    '1',
    'API calls refused by the open circuit breaker',
  );
  const batchRows = meter.createHistogram(
    METRIC.warehouseBatchRows,
    'int',
    '1',
    'State rows per warehouse write batch',
  );
  const writeLatency = meter.createHistogram(
    METRIC.warehouseWriteLatency,
    'int',
    'ms',
    'Warehouse write batch latency',
  );
  const writeFailures = meter.createCounter(
    METRIC.warehouseWriteFailures,
    '1',
    'Warehouse write batches that failed',
  );
  const dbtDuration = meter.createHistogram(
    METRIC.dbtRefreshDuration,
    'int',
    'ms',
    'dbt run of policy_execution_model, by outcome',
  );
  const dbtRefreshes = meter.createCounter(METRIC.dbtRefreshes, '1', 'dbt refresh attempts by outcome');
  const dbtLastSuccess = meter.createGauge(
    METRIC.dbtLastSuccess,
    'int',
    's',
    'Unix time of the last successful dbt run of policy_execution_model by this worker',
  );
  const backlog = meter.createGauge(
    METRIC.dispatcherBacklog,
    'int',
    '1',
    'Requests waiting in policy_execution_requests at the last dispatcher pass (at most one batch)',
  );
  const dispatcherStarts = meter.createCounter(
    METRIC.dispatcherStarts,
    '1',
    'Dispatcher starts by outcome (started, already_started, failed)',
  );
  const reconcilerFixes = meter.createCounter(
    METRIC.reconcilerFixes,
    '1',
    'Rows the endings reconciler set to error',
  );

  return {
    /** An API activity attempt ended (the breaker's refusals included). */
    apiCall(r: ApiCallRecord): void {
      apiCalls.add(1, { step: r.step, outcome: r.outcome, class: r.errorClass });
      if (r.errorClass === 'circuit_open') breakerRejections.add(1, { step: r.step });
    },
    /** An HTTP request to the policy API ended (the client's own timing, no state write in it). */
    apiLatency(r: { step: string; outcome: 'ok' | 'error'; durationMs: number }): void {
      apiLatency.record(Math.max(0, Math.round(r.durationMs)), { step: r.step, outcome: r.outcome });
    },
    pollResult(statusClass: string): void {
      pollResults.add(1, { class: statusClass });
    },
    breakerState(state: BreakerStateName): void {
      breakerState.set(BREAKER_STATE_VALUE[state]);
    },
    warehouseBatch(r: BatchRecord): void {
      writeLatency.record(Math.max(0, Math.round(r.durationMs)), { outcome: r.ok ? 'ok' : 'error' });
      if (r.ok) batchRows.record(r.rows);
      else writeFailures.add(1);
    },
    dbtRefresh(r: { ok: boolean; durationMs: number }): void {
      const outcome = r.ok ? 'ok' : 'error';
      dbtRefreshes.add(1, { outcome });
      dbtDuration.record(Math.max(0, Math.round(r.durationMs)), { outcome });
      if (r.ok) dbtLastSuccess.set(Math.floor(Date.now() / 1000));
    },
    dispatcherPass(p: { seen: number; started: number; alreadyStarted: number; failed: number }): void {
      backlog.set(p.seen);
      if (p.started) dispatcherStarts.add(p.started, { outcome: 'started' });
      if (p.alreadyStarted) dispatcherStarts.add(p.alreadyStarted, { outcome: 'already_started' });
      if (p.failed) dispatcherStarts.add(p.failed, { outcome: 'failed' });
    },
    reconcilerFixed(rows: number): void {
      reconcilerFixes.add(rows);
    },
  };
}

export type PolicyMetrics = ReturnType<typeof createPolicyMetrics>;
