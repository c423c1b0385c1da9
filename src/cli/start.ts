/**
 * `policy-execution start`: start one execution (optionally waiting for it, printing every
 * transition). An execution id is not reused unless asked for (`--rerun`).
 */
import { parseArgs } from 'node:util';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, type Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { loadWorkerConfig } from '../config';
import { TASK_QUEUE, WORKFLOW_TYPE } from '../contracts';
import type { StateRow } from '../policy';
import { connect, optionsFromFlags, readPolicyFile, uiLink, UsageError } from './common';
import { formatRow, formatStep } from './format';

/** Why a start with `workflowId` was refused: it is running, or it already ran. */
async function reusedIdError(client: Client, workflowId: string): Promise<Error> {
  let last: string;
  try {
    const d = await client.workflow.getHandle(workflowId).describe();
    if (d.status.name === 'RUNNING') {
      return new Error(
        `execution '${workflowId}' is already running (run ${d.runId}); follow it with: status ${workflowId}`,
      );
    }
    last = `its last run ${d.runId} ended ${d.status.name.toLowerCase()}${d.closeTime ? ` at ${d.closeTime.toISOString()}` : ''}`;
  } catch {
    last = 'it already ran';
  }
  return new Error(
    `execution '${workflowId}' was already started (${last}); an execution id is not reused.\n` +
      `  pick another --id, or pass --rerun to run it again as a new run of the same execution ` +
      `(new idempotency keys; its state row then shows the new run)`,
  );
}

function newWorkflowId(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  return `policy-exec-${stamp}-${Math.random().toString(36).slice(2, 8)}`;
}

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
    },
  });
  const policy = readPolicyFile(values.policy);
  const options = optionsFromFlags(values);
  if (values.rerun && !values.id) throw new UsageError('--rerun needs --id (the execution to run again)');
  const workflowId = values.id ?? newWorkflowId();
  const { client, namespace, close } = await connect();
  try {
    let handle;
    try {
      handle = await client.workflow.start(WORKFLOW_TYPE, {
        taskQueue: loadWorkerConfig().taskQueue ?? TASK_QUEUE,
        workflowId,
        args: [policy, options],
        // An execution id names one execution: reusing it is refused unless asked for (--rerun).
        workflowIdReusePolicy: values.rerun
          ? WorkflowIdReusePolicy.ALLOW_DUPLICATE
          : WorkflowIdReusePolicy.REJECT_DUPLICATE,
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) throw await reusedIdError(client, workflowId);
      throw err;
    }
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
