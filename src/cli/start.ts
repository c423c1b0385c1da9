/**
 * `policy-execution start`: start one execution (optionally waiting for it, printing every
 * transition). An execution id is not reused unless asked for (`--rerun`). With `--policies`,
 * many executions (start-bulk.ts).
 */
import { parseArgs } from 'node:util';
import { WorkflowFailedError } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { startExecution } from '../client';
import { loadWorkerConfig } from '../config';
import type { StateRow } from '../policy';
import { connect, optionsFromFlags, readPolicyFile, uiLink, UsageError } from './common';
import { formatRow, formatStep } from './format';
import { startBulk } from './start-bulk';

export async function start(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      policy: { type: 'string' },
      wait: { type: 'boolean', default: false },
      id: { type: 'string' },
      'max-polls': { type: 'string' },
      'poll-interval-ms': { type: 'string' },
      'no-refresh': { type: 'boolean' },
      rerun: { type: 'boolean', default: false },
      policies: { type: 'string' },
      concurrency: { type: 'string' },
      'id-prefix': { type: 'string' },
    },
  });
  if (values.policies !== undefined) return startBulk({ ...values, policies: values.policies });
  if (values.concurrency !== undefined || values['id-prefix'] !== undefined)
    throw new UsageError('--concurrency and --id-prefix go with --policies');
  const policy = readPolicyFile(values.policy);
  const options = optionsFromFlags(values);
  if (values.rerun && !values.id) throw new UsageError('--rerun needs --id (the execution to run again)');
  const { client, namespace, close } = await connect();
  try {
    const handle = await startExecution(client, {
      policy,
      options,
      id: values.id,
      taskQueue: loadWorkerConfig().taskQueue,
      trigger: 'cli',
      // An execution id names one execution: reusing it is refused unless asked for (--rerun).
      reusePolicy: values.rerun
        ? WorkflowIdReusePolicy.ALLOW_DUPLICATE
        : WorkflowIdReusePolicy.REJECT_DUPLICATE,
    });
    const workflowId = handle.workflowId;
    console.log(`started workflow ${workflowId} (run ${handle.firstExecutionRunId})`);
    console.log(`Web UI: ${uiLink(namespace, workflowId)}`);
    if (!values.wait) return 0;

    let seen = 0;
    const show = (row: StateRow | undefined) => {
      if (row && row.state_version > seen) {
        seen = row.state_version;
        console.log(formatStep(row));
      }
    };
    const result = handle.result() as Promise<StateRow>;
    let done = false;
    result.then(
      () => (done = true),
      () => (done = true),
    );
    while (!done) {
      try {
        show(await handle.query<StateRow>('state'));
      } catch {
        // The workflow may not have run its first task yet, or just finished.
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    try {
      const row = await result;
      show(row);
      console.log('\nfinal state row:');
      console.log(formatRow(row));
      return 0;
    } catch (err) {
      if (err instanceof WorkflowFailedError) {
        try {
          show(await handle.query<StateRow>('state'));
        } catch {
          /* a failed workflow may no longer answer queries on some servers */
        }
        console.error(`\nexecution failed: ${err.cause?.message ?? err.message}`);
        return 1;
      }
      throw err;
    }
  } finally {
    await close();
  }
}
