/**
 * The names of the project's own metrics (all `policy_execution_*`), next to the Temporal SDK's
 * (`temporal_*`) on the worker's Prometheus endpoint. One owner: the worker's instruments
 * (metrics.ts), the workflow interceptors (sandboxed) and the docs' table use these.
 * Counters end in `_total`, durations in `_ms` (milliseconds); the SDK's keep their own names.
 * Safe in the workflow sandbox: constants only. docs/operations.md#metrics describes each one.
 */
export const METRIC = {
  executionsStarted: 'policy_execution_executions_started_total',
  executionsFinished: 'policy_execution_executions_finished_total',
  executionDuration: 'policy_execution_execution_duration_ms',
  apiCalls: 'policy_execution_api_calls_total',
  apiCallLatency: 'policy_execution_api_call_latency_ms',
  pollResults: 'policy_execution_poll_results_total',
  breakerState: 'policy_execution_api_breaker_state',
  breakerRejections: 'policy_execution_api_breaker_rejections_total',
  warehouseBatchRows: 'policy_execution_warehouse_batch_rows',
  warehouseWriteLatency: 'policy_execution_warehouse_write_latency_ms',
  warehouseWriteFailures: 'policy_execution_warehouse_write_failures_total',
  dbtRefreshDuration: 'policy_execution_dbt_refresh_duration_ms',
  dbtRefreshes: 'policy_execution_dbt_refreshes_total',
  dbtRefreshLag: 'policy_execution_dbt_refresh_lag_ms',
  dbtLastSuccess: 'policy_execution_dbt_last_success_timestamp_seconds',
  dispatcherBacklog: 'policy_execution_dispatcher_backlog',
  dispatcherStarts: 'policy_execution_dispatcher_starts_total',
  reconcilerFixes: 'policy_execution_reconciler_fixes_total',
} as const;

/** Histogram buckets per metric (milliseconds, or rows), where the SDK's defaults do not fit. */
export const METRIC_BUCKETS: Record<string, number[]> = {
  [METRIC.apiCallLatency]: [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000],
  [METRIC.warehouseBatchRows]: [1, 2, 5, 10, 20, 50, 100, 200, 500],
  [METRIC.warehouseWriteLatency]: [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 30000],
  [METRIC.dbtRefreshDuration]: [100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000],
  [METRIC.dbtRefreshLag]: [1000, 2500, 5000, 10000, 20000, 30000, 60000, 120000, 300000, 900000],
  [METRIC.executionDuration]: [250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 900000, 3600000],
};
