// Start one policy execution on the worker's task queue and print its state row when it ends,
// with the package's client helpers; then run the team's own workflow on the same worker.
import { Client, Connection } from '@temporalio/client';
import {
  awaitOutcome,
  PolicyExecutionClientPlugin,
  startExecution,
  type PolicyData,
} from 'policy-execution/client';
import { TASK_QUEUE } from './worker-settings';

async function main(): Promise<void> {
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? 'localhost:7233' });
  const client = new Client({ connection, plugins: [new PolicyExecutionClientPlugin()] });
  try {
    const policy: PolicyData = {
      policy_name: 'example_policy',
      policy_type: 'data_governance',
      description: 'Started from the example worker project',
      priority: 'high',
      created_by: 'example',
      parameters: { retention_days: 30, circuit_breaker_enabled: true },
    };
    const handle = await startExecution(client, { policy, id: process.argv[2], taskQueue: TASK_QUEUE });
    const outcome = await awaitOutcome(client, handle.workflowId);
    const greeting = await client.workflow.execute('hello', {
      taskQueue: TASK_QUEUE,
      workflowId: `${handle.workflowId}-hello`,
      args: ['policy-execution'],
    });
    console.log(JSON.stringify({ outcome, greeting }));
  } finally {
    await connection.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
