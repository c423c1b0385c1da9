/**
 * Model refresh wiring: where terminal executions send their refresh asks (the dbtRefresh workflow
 * on the dbt task queue), how the worker runs dbt, and the dbt worker that serves that queue.
 */
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { Worker, type NativeConnection } from '@temporalio/worker';
import type { RefreshTarget } from '../activities';
import { createDbtActivities, type DbtActivityDeps } from '../activities/dbt';
import { createDbtExecutor, type DbtExecutor } from '../dbt/daemon';
import { dbtTargetOf, type WarehouseConfig } from '../warehouse/factory';
import type { DbtRunSettings, RefreshSettings } from './options';
import { workflowSource } from './workflows';
import { observability } from '../observability/setup';

function refreshFields(config: RefreshSettings): Omit<RefreshTarget, 'client'> {
  return {
    workflowId: config.workflowId,
    taskQueue: config.taskQueue,
    input: { dbtTaskQueue: config.taskQueue, debounceMs: config.debounceMs, maxWaitMs: config.maxWaitMs },
    askIntervalMs: config.askIntervalMs,
  };
}

/** Where terminal executions ask for a refresh: the dbtRefresh workflow on the dbt task queue. */
export function refreshTarget(client: Client, config: RefreshSettings): RefreshTarget {
  return { client, ...refreshFields(config) };
}

/** The same, with a client known only later (read when an ask is sent). */
export function lazyRefreshTarget(client: () => Client, config: RefreshSettings): RefreshTarget {
  return {
    ...refreshFields(config),
    get client(): Client {
      return client();
    },
  };
}

/**
 * How the worker runs dbt: a warm dbt process (src/dbt/dbt_daemon.py) unless `mode` is `cli`, against
 * the worker's warehouse (the `duckdb` target and its file, or the `snowflake` target and the
 * SNOWFLAKE_* settings) unless `target` names another target.
 */
export function dbtExecutor(config: DbtRunSettings, warehouse: WarehouseConfig): DbtExecutor {
  const target = dbtTargetOf(warehouse);
  return createDbtExecutor({
    mode: config.mode,
    dbtBin: config.dbtBin,
    projectDir: config.projectDir,
    ...(config.profilesDir ? { profilesDir: config.profilesDir } : {}),
    warehousePath: target.warehousePath,
    warehouseEnv: target.env,
    targetPath: path.join(config.workDir, 'target'),
    logPath: path.join(config.workDir, 'logs'),
    target: config.target ?? target.target,
    timeoutMs: config.runTimeoutMs,
  });
}

/** Worker options objects made here: the plugin leaves them alone should it be on the connection too. */
export const internalWorkerOptions = new WeakSet<object>();

/**
 * The dbt worker, on its own task queue: the dbtRefresh workflow and the runModelRefresh activity with
 * ONE slot, so dbt runs started through Temporal never overlap (docs/design.md, decision 5). The
 * refresher's workflow tasks do not queue behind a backlog of policy executions on the main task queue.
 */
export async function createDbtWorker(args: {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: DbtActivityDeps;
}): Promise<Worker> {
  const options = {
    connection: args.connection,
    namespace: args.namespace,
    taskQueue: args.taskQueue,
    // The dbtRefresh workflow alone: a smaller workflow thread than the whole bundle's.
    ...(await workflowSource('refresh')),
    activities: createDbtActivities(args.deps),
    ...observability().workerOptions(),
    maxConcurrentActivityTaskExecutions: 1,
  };
  internalWorkerOptions.add(options);
  return Worker.create(options);
}
