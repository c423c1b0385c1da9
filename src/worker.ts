/**
 * The worker process: polls task queue `policy-execution` and runs policyExecution workflows and
 * their activities, as a user of the project's own Temporal plugin (src/plugin/): the plugin brings
 * the workflows, the activities, the dbt worker, the request dispatcher and the endings reconciler;
 * this file reads their settings from the environment (docs/configuration.md). Temporal connection
 * settings come from @temporalio/envconfig (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
 * TLS settings or a config profile). SIGINT / SIGTERM shut it down gracefully.
 */
import fs from 'node:fs';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from './activities';
import { intFromEnv, loadTemporalConfig, loadWorkerConfig } from './config';
import { pluginOptionsFromConfig } from './plugin/env';
import { PolicyExecutionPlugin } from './plugin/worker-plugin';
import { workflowSource } from './plugin/workflows';
import { observability, setupObservability } from './observability/setup';

// What the tests, the benchmark and the bundling script build on.
export { workflowBundlerOptions } from './plugin/workflows';
export { createDbtWorker, dbtExecutor, refreshTarget } from './plugin/dbt-worker';

/**
 * Optional worker tuning (slots and cache; the SDK's defaults otherwise), e.g. for the benchmark:
 * WORKER_MAX_CACHED_WORKFLOWS, WORKER_MAX_CONCURRENT_WORKFLOW_TASKS, WORKER_MAX_CONCURRENT_ACTIVITIES,
 * WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES, WORKER_MAX_EAGER_ACTIVITIES (0 turns eager activity execution off).
 */
export function workerTuningFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<WorkerOptions> {
  const options: Partial<WorkerOptions> = {};
  const settings = {
    WORKER_MAX_CACHED_WORKFLOWS: 'maxCachedWorkflows',
    WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: 'maxConcurrentWorkflowTaskExecutions',
    WORKER_MAX_CONCURRENT_ACTIVITIES: 'maxConcurrentActivityTaskExecutions',
    WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES: 'maxConcurrentLocalActivityExecutions',
    WORKER_MAX_EAGER_ACTIVITIES: 'maxEagerActivityReservationsPerWorkflowTask',
  } as const;
  for (const [name, option] of Object.entries(settings)) {
    if (env[name] !== undefined && env[name] !== '') options[option] = intFromEnv(env, name, 0);
  }
  return options;
}

/** A policy worker with the activities of `deps` and the project's workflow code (the tests wire their own parts). */
export async function createPolicyWorker(args: {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  options?: Partial<WorkerOptions>;
}): Promise<Worker> {
  return Worker.create({
    connection: args.connection,
    namespace: args.namespace,
    taskQueue: args.taskQueue,
    ...(await workflowSource()),
    activities: createActivities({ onBreaker: (b) => observability().observeBreaker(b), ...args.deps }),
    ...observability().workerOptions(),
    ...args.options,
  });
}

async function main(): Promise<void> {
  // Logs, the SDK runtime (metrics endpoint) and tracing, before any connection (docs/operations.md).
  const obs = setupObservability({ component: 'worker' });
  const log = obs.logger;
  const config = loadWorkerConfig();
  const temporal = loadTemporalConfig();
  const connection = await NativeConnection.connect(temporal.connectionOptions);
  // The client of the refresh asks, the dispatcher and the reconciler shares the worker's native
  // connection: no second (gRPC-JS) channel to the same server in the process
  // (docs/performance-log.md, change 22).
  const plugin = new PolicyExecutionPlugin({
    ...pluginOptionsFromConfig(config),
    client: new Client({
      connection,
      namespace: temporal.namespace,
      interceptors: obs.clientInterceptors(),
    }),
    logger: log,
    onReady: (summary) =>
      log.info(
        `worker ready: ${summary}` +
          ` metrics=${obs.metricsAddress ? `http://${obs.metricsAddress}/metrics` : 'off'}` +
          ` tracing=${obs.tracing.enabled ? 'otlp' : 'off'}`,
      ),
  });
  try {
    const worker = await Worker.create({
      connection,
      namespace: temporal.namespace,
      taskQueue: config.taskQueue,
      plugins: [plugin],
      ...workerTuningFromEnv(),
    });
    // SIGINT / SIGTERM shut down both workers (Temporal's Runtime handles the signals).
    await worker.run();
  } finally {
    await plugin.close();
    await connection.close();
    await obs.shutdown();
    // For the benchmark (bench/): the warehouse's write counters, after the last write.
    if (process.env.WORKER_STATS_FILE && plugin.warehouse) {
      fs.writeFileSync(
        process.env.WORKER_STATS_FILE,
        JSON.stringify({ warehouse: plugin.warehouse.stats() }),
      );
    }
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      observability().logger.error(`worker failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
