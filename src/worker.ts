/**
 * The worker process: polls task queue `policy-execution`, runs policyExecution workflows and their
 * activities. Configuration comes from the environment (see README, "Configuration"); Temporal
 * connection settings from @temporalio/envconfig (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
 * TLS settings or a config profile). SIGINT / SIGTERM shut it down gracefully.
 */
import fs from 'node:fs';
import path from 'node:path';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from './activities';
import { loadTemporalConfig, loadWorkerConfig } from './config';
import { createPolicyApiClient } from './policy-api/client';
import { DuckDbWarehouse } from './warehouse/duckdb';

/** Pre-built by `make build` (scripts/bundle-workflows.js); bundling on start is the fallback. */
export const WORKFLOW_BUNDLE_PATH = path.resolve(__dirname, 'workflow-bundle.js');

export function workflowSource(): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  if (fs.existsSync(WORKFLOW_BUNDLE_PATH)) return { workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH } };
  return { workflowsPath: path.join(__dirname, 'workflows') };
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
    ...workflowSource(),
    activities: createActivities(args.deps),
    ...args.options,
  });
}

async function main(): Promise<void> {
  const config = loadWorkerConfig();
  const temporal = loadTemporalConfig();
  const warehouse = new DuckDbWarehouse({ path: config.warehousePath });
  await warehouse.init();
  const api = createPolicyApiClient(config.api);
  const connection = await NativeConnection.connect(temporal.connectionOptions);
  try {
    const worker = await createPolicyWorker({
      connection,
      namespace: temporal.namespace,
      taskQueue: config.taskQueue,
      deps: { api, warehouse, breaker: config.breaker },
    });
    console.log(
      `worker ready: namespace=${temporal.namespace} task-queue=${config.taskQueue} ` +
        `policy-api=${config.api.baseUrl} (${config.api.profile}) warehouse=${config.warehousePath}`,
    );
    await worker.run();
  } finally {
    await connection.close();
    await api.close();
    await warehouse.close();
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error('worker failed:', err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
