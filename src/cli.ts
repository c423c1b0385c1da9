/**
 * policy-execution CLI:
 *   start --policy FILE [--wait] [--id ID [--rerun]] [--max-polls N] [--poll-interval-ms MS] [--no-refresh]
 *   status ID [--source warehouse|temporal]
 *   schedule create --id ID --policy FILE (--every DURATION | --cron EXPR) [--max-polls N] [--poll-interval-ms MS]
 *   schedule list
 *   schedule delete ID
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import {
  Client,
  Connection,
  ScheduleOverlapPolicy,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
} from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { loadTemporalConfig, loadWorkerConfig } from './config';
import { TASK_QUEUE, WORKFLOW_TYPE } from './contracts';
import { validateOptions, validatePolicy, type StateRow } from './policy';
import type { ExecutionOptionsInput } from './policy/input';
import { DuckDbWarehouse } from './warehouse/duckdb/warehouse';
import { formatRow, formatStep } from './format';

const USAGE = `usage:
  policy-execution start --policy FILE [--wait] [--id ID [--rerun]] [--max-polls N] [--poll-interval-ms MS] [--no-refresh]
  policy-execution status ID [--source warehouse|temporal]
  policy-execution schedule create --id ID --policy FILE (--every DURATION | --cron EXPR) [--max-polls N] [--poll-interval-ms MS]
  policy-execution schedule list
  policy-execution schedule delete ID

Temporal connection: TEMPORAL_ADDRESS (default localhost:7233), TEMPORAL_NAMESPACE (default 'default').
Web UI links use TEMPORAL_UI_URL (default http://localhost:8233).`;

class UsageError extends Error {}

function uiLink(namespace: string, workflowId: string): string {
  const base = (process.env.TEMPORAL_UI_URL ?? 'http://localhost:8233').replace(/\/$/, '');
  return `${base}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

function readPolicyFile(file: string | undefined): unknown {
  if (!file) throw new UsageError('--policy FILE is required');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read policy file '${file}': ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`policy file '${file}' is not valid JSON: ${(err as Error).message}`);
  }
  const v = validatePolicy(value);
  if (!v.ok) throw new UsageError(`invalid policy in '${file}': ${v.message}`);
  return v.value;
}

function optionsFromFlags(values: {
  'max-polls'?: string;
  'poll-interval-ms'?: string;
  'no-refresh'?: boolean;
}): ExecutionOptionsInput {
  const opts: ExecutionOptionsInput = {};
  if (values['max-polls'] !== undefined) opts.maxPolls = Number(values['max-polls']);
  if (values['poll-interval-ms'] !== undefined) opts.pollIntervalMs = Number(values['poll-interval-ms']);
  if (values['no-refresh']) opts.refreshModel = false;
  const v = validateOptions(opts);
  if (!v.ok) throw new UsageError(v.message.replace(/^options\./, '--'));
  return opts;
}

async function connect(): Promise<{ client: Client; namespace: string; close: () => Promise<void> }> {
  const temporal = loadTemporalConfig();
  let connection: Connection;
  try {
    connection = await Connection.connect(temporal.connectionOptions);
  } catch (err) {
    const address = temporal.connectionOptions.address ?? 'localhost:7233';
    throw new Error(
      `cannot reach the Temporal server at ${address}: ${(err as Error).message}\n` +
        `  start the local stack with 'make up', or set TEMPORAL_ADDRESS`,
    );
  }
  const client = new Client({ connection, namespace: temporal.namespace });
  return { client, namespace: temporal.namespace, close: () => connection.close() };
}

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

async function start(argv: string[]): Promise<number> {
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

async function status(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { source: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  const id = positionals[0];
  if (!id) throw new UsageError('status needs an execution id');
  const source = values.source ?? 'warehouse';
  if (source !== 'warehouse' && source !== 'temporal')
    throw new UsageError("--source is 'warehouse' or 'temporal'");
  let row: StateRow | null = null;
  if (source === 'warehouse') {
    const warehouse = new DuckDbWarehouse({ path: loadWorkerConfig().warehousePath });
    try {
      row = await warehouse.getState(id);
    } finally {
      await warehouse.close();
    }
    if (!row) {
      console.error(
        `no row for execution '${id}' in policy_execution_state (${loadWorkerConfig().warehousePath})`,
      );
      return 1;
    }
  } else {
    const { client, close } = await connect();
    try {
      row = await client.workflow.getHandle(id).query<StateRow>('state');
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        console.error(`no workflow '${id}'`);
        return 1;
      }
      throw err;
    } finally {
      await close();
    }
  }
  console.log(values.json ? JSON.stringify(row, null, 2) : formatRow(row));
  return 0;
}

async function schedule(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { client, namespace, close } = await connect();
  try {
    if (sub === 'create') {
      const { values } = parseArgs({
        args: rest,
        options: {
          id: { type: 'string' },
          policy: { type: 'string' },
          every: { type: 'string' },
          cron: { type: 'string' },
          'max-polls': { type: 'string' },
          'poll-interval-ms': { type: 'string' },
          'no-refresh': { type: 'boolean' },
          paused: { type: 'boolean', default: false },
        },
      });
      if (!values.id) throw new UsageError('schedule create needs --id');
      if (!values.every === !values.cron)
        throw new UsageError('schedule create needs exactly one of --every or --cron');
      const policy = readPolicyFile(values.policy);
      const options = optionsFromFlags(values);
      await client.schedule.create({
        scheduleId: values.id,
        spec: values.every
          ? { intervals: [{ every: values.every as `${number}${'s' | 'm' | 'h' | 'd'}` }] }
          : { cronExpressions: [values.cron!] },
        action: {
          type: 'startWorkflow',
          workflowType: WORKFLOW_TYPE,
          taskQueue: loadWorkerConfig().taskQueue,
          workflowId: values.id,
          args: [policy, options],
        },
        policies: { overlap: ScheduleOverlapPolicy.SKIP },
        state: { paused: values.paused },
      });
      console.log(`created schedule ${values.id}`);
      const base = (process.env.TEMPORAL_UI_URL ?? 'http://localhost:8233').replace(/\/$/, '');
      console.log(
        `Web UI: ${base}/namespaces/${encodeURIComponent(namespace)}/schedules/${encodeURIComponent(values.id)}`,
      );
      return 0;
    }
    if (sub === 'list') {
      let n = 0;
      for await (const s of client.schedule.list()) {
        const action = s.action && 'workflowType' in s.action ? s.action.workflowType : '';
        const next = s.info.nextActionTimes[0]?.toISOString() ?? '-';
        console.log(`${s.scheduleId}\t${action}\t${s.state.paused ? 'paused' : 'active'}\tnext: ${next}`);
        n++;
      }
      if (n === 0) console.log('no schedules');
      return 0;
    }
    if (sub === 'delete') {
      const id = rest[0];
      if (!id) throw new UsageError('schedule delete needs a schedule id');
      await client.schedule.getHandle(id).delete();
      console.log(`deleted schedule ${id}`);
      return 0;
    }
    throw new UsageError(`unknown schedule command '${sub ?? ''}'`);
  } finally {
    await close();
  }
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'start':
        return await start(rest);
      case 'status':
        return await status(rest);
      case 'schedule':
        return await schedule(rest);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        console.log(USAGE);
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${cmd}'`);
    }
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`policy-execution: ${(err as Error).message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`policy-execution: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
