/**
 * The worker process: polls task queue `policy-execution`, runs policyExecution workflows and their
 * activities. Configuration comes from the environment (docs/configuration.md); Temporal
 * connection settings from @temporalio/envconfig (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
 * TLS settings or a config profile). SIGINT / SIGTERM shut it down gracefully.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, sendRefreshAsk, type ActivityDeps, type RefreshTarget } from './activities';
import { createDbtActivities, type DbtActivityDeps } from './activities/dbt';
import { intFromEnv, loadTemporalConfig, loadWorkerConfig, type DbtConfig } from './config';
import { createDbtExecutor, type DbtExecutor } from './dbt/daemon';
import { RequestDispatcher } from './dispatcher';
import { EndingsReconciler } from './reconciler';
import { createPolicyApiClient } from './policy-api/client';
import { createWarehouse, dbtTargetOf, describeWarehouse, type WarehouseConfig } from './warehouse/factory';
import { WORKFLOW_INTERCEPTORS_MODULE } from './observability/bundle';
import { observability, setupObservability } from './observability/setup';

/** Pre-built by `make build` (scripts/bundle-workflows.js); bundling on start is the fallback. */
export const WORKFLOW_BUNDLE_PATH = path.resolve(__dirname, 'workflow-bundle.js');

/**
 * How the workflow code is bundled (by `make build`, the benchmark and the fallback below). The input
 * rules (zod schemas, stateless) are preloaded: shared by every workflow in the reusable V8 context
 * instead of being rebuilt for each one, which measured ~0.4 MB less worker memory per cached
 * workflow (docs/performance.md).
 */
export function workflowBundlerOptions(): {
  workflowsPath: string;
  preloadModules: string[];
  workflowInterceptorModules: string[];
} {
  return {
    workflowsPath: path.join(__dirname, 'workflows'),
    preloadModules: [path.join(__dirname, 'policy', 'input')],
    // Summaries, current details, metrics and tracing in the sandbox (src/observability/workflow/).
    workflowInterceptorModules: [WORKFLOW_INTERCEPTORS_MODULE],
  };
}

let bundled: Promise<Pick<WorkerOptions, 'workflowBundle'>> | undefined;

/**
 * The workflow code for both workers of this process: the pre-built bundle, or one bundle built on
 * first use (not once per Worker).
 */
export function workflowSource(): Promise<Pick<WorkerOptions, 'workflowBundle'>> {
  if (fs.existsSync(WORKFLOW_BUNDLE_PATH))
    return Promise.resolve({ workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH } });
  bundled ??= bundleWorkflowCode(workflowBundlerOptions()).then(
    ({ code }) => ({ workflowBundle: { code } }),
    (err: unknown) => {
      bundled = undefined;
      throw err;
    },
  );
  return bundled;
}

/**
 * Optional worker tuning (slots and cache; the SDK's defaults otherwise), e.g. for the benchmark:
 * WORKER_MAX_CACHED_WORKFLOWS, WORKER_MAX_CONCURRENT_WORKFLOW_TASKS, WORKER_MAX_CONCURRENT_ACTIVITIES,
 * WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES.
 */
export function workerTuningFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<WorkerOptions> {
  const options: Partial<WorkerOptions> = {};
  const settings = {
    WORKER_MAX_CACHED_WORKFLOWS: 'maxCachedWorkflows',
    WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: 'maxConcurrentWorkflowTaskExecutions',
    WORKER_MAX_CONCURRENT_ACTIVITIES: 'maxConcurrentActivityTaskExecutions',
    WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES: 'maxConcurrentLocalActivityExecutions',
  } as const;
  for (const [name, option] of Object.entries(settings)) {
    if (env[name] !== undefined && env[name] !== '') options[option] = intFromEnv(env, name, 0);
  }
  return options;
}

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

/**
 * The dbt worker, on its own task queue: the dbtRefresh workflow and the runModelRefresh activity with
 * ONE slot, so dbt runs started through Temporal never overlap (docs/design.md, decision 5). The refresher's workflow
 * tasks do not queue behind a backlog of policy executions on the main task queue.
 */
export async function createDbtWorker(args: {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: DbtActivityDeps;
}): Promise<Worker> {
  return Worker.create({
    connection: args.connection,
    namespace: args.namespace,
    taskQueue: args.taskQueue,
    ...(await workflowSource()),
    activities: createDbtActivities(args.deps),
    ...observability().workerOptions(),
    maxConcurrentActivityTaskExecutions: 1,
  });
}

/**
 * How the worker runs dbt: a warm dbt process (src/dbt/dbt_daemon.py) unless DBT_RUNNER=cli, against
 * the worker's warehouse (the `duckdb` target and its file, or the `snowflake` target and the
 * SNOWFLAKE_* settings) unless DBT_TARGET names another target.
 */
export function dbtExecutor(config: DbtConfig, warehouse: WarehouseConfig): DbtExecutor {
  const target = dbtTargetOf(warehouse);
  return createDbtExecutor({
    mode: config.mode,
    dbtBin: config.dbtBin,
    projectDir: config.projectDir,
    warehousePath: target.warehousePath,
    warehouseEnv: target.env,
    targetPath: path.join(config.workDir, 'target'),
    logPath: path.join(config.workDir, 'logs'),
    target: config.target ?? target.target,
    timeoutMs: config.runTimeoutMs,
  });
}

/** Where terminal executions ask for a refresh: the dbtRefresh workflow on the dbt task queue. */
export function refreshTarget(client: Client, config: DbtConfig): RefreshTarget {
  return {
    client,
    workflowId: config.workflowId,
    taskQueue: config.taskQueue,
    input: { dbtTaskQueue: config.taskQueue, debounceMs: config.debounceMs, maxWaitMs: config.maxWaitMs },
    askIntervalMs: config.askIntervalMs,
  };
}

async function main(): Promise<void> {
  // Logs, the SDK runtime (metrics endpoint) and tracing, before any connection (docs/operations.md).
  const obs = setupObservability({ component: 'worker' });
  const log = obs.logger;
  const config = loadWorkerConfig();
  const temporal = loadTemporalConfig();
  const warehouse = await createWarehouse(config.warehouse, {
    component: 'worker',
    // Snowflake: the driver's warnings and failed batches (scrubbed of credentials). The DuckDB
    // adapter reports through its errors only, as it always has.
    logger:
      config.warehouse.kind === 'snowflake'
        ? { debug: () => undefined, warn: (m, meta) => log.warn(m, meta) }
        : undefined,
    onBatch: obs.onBatch,
  });
  await warehouse.init();
  const api = createPolicyApiClient({
    ...config.api,
    requestHeaders: obs.tracing.headers,
    onCall: obs.onApiCall,
  });
  const connection = await NativeConnection.connect(temporal.connectionOptions);
  const clientConnection = await Connection.connect(temporal.connectionOptions);
  const client = new Client({
    connection: clientConnection,
    namespace: temporal.namespace,
    interceptors: obs.clientInterceptors(),
  });
  let dispatcher: RequestDispatcher | null = null;
  let reconciler: EndingsReconciler | null = null;
  const dbt = config.dbt ? dbtExecutor(config.dbt, config.warehouse) : null;
  try {
    const worker = await createPolicyWorker({
      connection,
      namespace: temporal.namespace,
      taskQueue: config.taskQueue,
      deps: {
        api,
        warehouse,
        breaker: config.breaker,
        refresh: config.dbt ? refreshTarget(client, config.dbt) : undefined,
      },
      options: {
        ...(config.maxApiRequestsPerSecond === undefined
          ? {}
          : { maxTaskQueueActivitiesPerSecond: config.maxApiRequestsPerSecond }),
        ...workerTuningFromEnv(),
      },
    });
    const dbtWorker =
      config.dbt && dbt
        ? await createDbtWorker({
            connection,
            namespace: temporal.namespace,
            taskQueue: config.dbt.taskQueue,
            deps: { warehouse, dbt },
          })
        : null;
    // Warm dbt up now, so the first refresh does not pay for Python start-up and parsing.
    void dbt?.prepare();
    if (config.dispatchIntervalMs > 0) {
      dispatcher = new RequestDispatcher({
        client,
        warehouse,
        taskQueue: config.taskQueue,
        intervalMs: config.dispatchIntervalMs,
        logger: log.child({ component: 'dispatcher' }),
        warehouseLabel: describeWarehouse(config.warehouse),
        onPass: (pass) => obs.metrics().dispatcherPass(pass),
      });
      dispatcher.startPolling();
    }
    if (config.reconcileIntervalMs > 0) {
      const refresh = config.dbt ? refreshTarget(client, config.dbt) : null;
      reconciler = new EndingsReconciler({
        client,
        warehouse,
        intervalMs: config.reconcileIntervalMs,
        lookbackMs: config.reconcileLookbackMs,
        onFixed: async (rows) => {
          obs.metrics().reconcilerFixed(rows.length);
          if (refresh) await sendRefreshAsk(refresh, rows.length);
        },
        logger: log.child({ component: 'reconciler' }),
      });
      reconciler.startPolling();
    }
    log.info(
      `worker ready: namespace=${temporal.namespace} task-queue=${config.taskQueue} ` +
        `policy-api=${config.api.baseUrl} (${config.api.profile}) warehouse=${describeWarehouse(config.warehouse)} ` +
        `model-refresh=${config.dbt ? `${config.dbt.workflowId} via ${config.dbt.taskQueue}` : 'off'} ` +
        `dispatcher=${config.dispatchIntervalMs > 0 ? `every ${config.dispatchIntervalMs} ms` : 'off'} ` +
        `reconciler=${config.reconcileIntervalMs > 0 ? `every ${config.reconcileIntervalMs} ms` : 'off'}` +
        (config.maxApiRequestsPerSecond === undefined ? '' : ` max-rps=${config.maxApiRequestsPerSecond}`) +
        ` metrics=${obs.metricsAddress ? `http://${obs.metricsAddress}/metrics` : 'off'}` +
        ` tracing=${obs.tracing.enabled ? 'otlp' : 'off'}`,
    );
    // SIGINT / SIGTERM shut down both workers (Temporal's Runtime handles the signals).
    await Promise.all([worker.run(), dbtWorker?.run()]);
  } finally {
    await dispatcher?.stop();
    await reconciler?.stop();
    await dbt?.close();
    await clientConnection.close();
    await connection.close();
    await api.close();
    await warehouse.close();
    await obs.shutdown();
    // For the benchmark (bench/): the warehouse's write counters, after the last write.
    if (process.env.WORKER_STATS_FILE) {
      fs.writeFileSync(process.env.WORKER_STATS_FILE, JSON.stringify({ warehouse: warehouse.stats() }));
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
