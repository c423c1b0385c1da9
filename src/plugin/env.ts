/**
 * The plugin's options from the worker's environment variables (docs/configuration.md): what
 * `node dist/worker.js` runs with, and what a user's worker can use to be configured the same way.
 */
import { loadWorkerConfig, type WorkerConfig } from '../config';
import type { PolicyExecutionPluginOptions } from './options';

export function pluginOptionsFromConfig(config: WorkerConfig): PolicyExecutionPluginOptions {
  const { api, dbt } = config;
  return {
    policyApi: {
      url: api.baseUrl,
      profile: api.profile,
      ...(api.token ? { token: api.token } : {}),
      timeoutMs: api.timeoutMs,
      maxResponseBytes: api.maxResponseBytes,
    },
    warehouse: config.warehouse,
    breaker: config.breaker,
    ...(config.maxApiRequestsPerSecond === undefined
      ? {}
      : { maxApiRequestsPerSecond: config.maxApiRequestsPerSecond }),
    modelRefresh: dbt
      ? {
          workflowId: dbt.workflowId,
          taskQueue: dbt.taskQueue,
          debounceMs: dbt.debounceMs,
          maxWaitMs: dbt.maxWaitMs,
          askIntervalMs: dbt.askIntervalMs,
          dbtWorker: {
            projectDir: dbt.projectDir,
            dbtBin: dbt.dbtBin,
            workDir: dbt.workDir,
            ...(dbt.target ? { target: dbt.target } : {}),
            runTimeoutMs: dbt.runTimeoutMs,
            mode: dbt.mode,
          },
        }
      : false,
    dispatcher:
      config.dispatchIntervalMs > 0
        ? { intervalMs: config.dispatchIntervalMs, concurrency: config.dispatchConcurrency }
        : false,
    reconciler:
      config.reconcileIntervalMs > 0
        ? { intervalMs: config.reconcileIntervalMs, lookbackMs: config.reconcileLookbackMs }
        : false,
  };
}

/**
 * POLICY_API_*, WAREHOUSE / WAREHOUSE_PATH / SNOWFLAKE_*, DBT_*, DISPATCH_* and
 * RECONCILE_* as plugin options, with the worker's defaults. The task queue (POLICY_TASK_QUEUE) is the
 * worker's own option: `taskQueue` here.
 */
export function pluginOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): {
  taskQueue: string;
  options: PolicyExecutionPluginOptions;
} {
  const config = loadWorkerConfig(env);
  return { taskQueue: config.taskQueue, options: pluginOptionsFromConfig(config) };
}
