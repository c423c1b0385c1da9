// The team's own worker, with policy-execution's plugin added (docs/temporal-plugin.md).
import { NativeConnection, Worker } from '@temporalio/worker';
import { PolicyExecutionPlugin } from 'policy-execution/plugin';
import * as activities from './activities';
import { TASK_QUEUE } from './worker-settings';

async function main(): Promise<void> {
  const connection = await NativeConnection.connect({
    address: process.env.TEMPORAL_ADDRESS ?? 'localhost:7233',
  });
  const plugin = new PolicyExecutionPlugin({
    policyApi: {
      url: process.env.POLICY_API_URL ?? 'http://localhost:8080',
      token: process.env.POLICY_API_TOKEN,
    },
    warehouse: { kind: 'duckdb', path: process.env.WAREHOUSE_PATH ?? 'warehouse.duckdb' },
    // The refresher runs `dbt run --select policy_execution_model` in this dbt project, one run at a
    // time, on the task queue `<TASK_QUEUE>-dbt` served by this process.
    modelRefresh: {
      dbtWorker: {
        projectDir: process.env.DBT_PROJECT_DIR ?? '../dbt-project',
        dbtBin: process.env.DBT_BIN ?? 'dbt',
      },
    },
  });
  try {
    const worker = await Worker.create({
      connection,
      taskQueue: TASK_QUEUE,
      workflowsPath: require.resolve('./workflows'),
      activities,
      plugins: [plugin],
    });
    await worker.run(); // until SIGINT / SIGTERM
  } finally {
    await plugin.close();
    await connection.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
