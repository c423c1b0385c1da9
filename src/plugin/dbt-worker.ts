/**
 * Model refresh wiring: where terminal executions send their refresh asks (the dbtRefresh workflow,
 * on the worker's own task queue at the refresher's priority), how the worker runs dbt, the dbt
 * worker that runs the refresher's dbt activity on the dbt task queue, and the move of a refresher
 * an earlier version started on that queue.
 */
import path from 'node:path';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { Worker, type NativeConnection } from '@temporalio/worker';
import { sendRefreshAsk, type RefreshTarget } from '../activities/refresh-asks';
import { createDbtActivities, type DbtActivityDeps } from '../activities/dbt';
import { DBT_HEARTBEAT, type RefreshStatus } from '../contracts';
import { createDbtExecutor, type DbtExecutor } from '../dbt/daemon';
import { dbtTargetOf, type WarehouseConfig } from '../warehouse/factory';
import type { DbtRunSettings, RefreshSettings } from './options';
import { observability } from '../observability/setup';

function refreshFields(config: RefreshSettings): Omit<RefreshTarget, 'client'> {
  return {
    workflowId: config.workflowId,
    taskQueue: config.refresherTaskQueue,
    input: { dbtTaskQueue: config.taskQueue, debounceMs: config.debounceMs, maxWaitMs: config.maxWaitMs },
    askIntervalMs: config.askIntervalMs,
  };
}

/** Where terminal executions ask for a refresh: the dbtRefresh workflow on the worker's task queue. */
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
 * The dbt worker, on its own task queue: the runModelRefresh activity with ONE slot, so dbt runs
 * started through Temporal never overlap (docs/design.md, decision 5), its heartbeats sent often
 * enough for the activity's short heartbeat timeout (DBT_HEARTBEAT). It runs no workflows: the
 * refresher runs on the worker's own task queue (decision 11), so this process has one workflow
 * thread, not two.
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
    activities: createDbtActivities(args.deps),
    ...observability().workerOptions(),
    maxConcurrentActivityTaskExecutions: 1,
    // Beats reach the server every DBT_HEARTBEAT.throttleMs, well inside the short heartbeat timeout.
    maxHeartbeatThrottleInterval: DBT_HEARTBEAT.throttleMs,
  };
  internalWorkerOptions.add(options);
  return Worker.create(options);
}

/**
 * A refresher that an earlier version started on the dbt task queue, where no worker runs workflow
 * tasks any more, would wait there for ever. It is moved: terminated, with a reason naming where it
 * went, and started again on `target.taskQueue` by one ask that carries its counts (from its memo,
 * kept after every dbt run) and its pending asks, at least one, so that a refresh runs even for asks
 * that came after its memo. A refresher on any other queue (another worker's, sharing the
 * warehouse) is left where it is. Returns the dbt queue when it moved one, else null.
 */
export async function moveRefresher(target: RefreshTarget): Promise<string | null> {
  const handle = target.client.workflow.getHandle(target.workflowId);
  let desc;
  try {
    desc = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
  if (desc.status.name !== 'RUNNING' || desc.taskQueue !== target.input.dbtTaskQueue) return null;
  const memo = (desc.memo as { refresh?: RefreshStatus } | undefined)?.refresh;
  try {
    await handle.terminate(`policy-execution: the refresher moved to task queue ${target.taskQueue}`);
  } catch (err) {
    // Ended meanwhile: nothing to terminate, the ask below starts it where it belongs.
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
  // Its counts ride in the new run's input; its pending asks in the ask that starts it.
  let input = target.input;
  if (memo) {
    const { pending: _pending, ...status } = memo;
    input = { ...input, carried: { pending: 0, status } };
  }
  await sendRefreshAsk({ ...target, input }, Math.max(1, memo?.pending ?? 0));
  return desc.taskQueue;
}
