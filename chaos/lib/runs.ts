/**
 * The runs of one workflow id, read back from Temporal after a scenario: every run (the first start,
 * reset runs, re-runs of the id), with its final status, its run chain (the originalExecutionRunId
 * its idempotency keys name: a reset keeps it, a re-run starts a new one), how it ended (result,
 * failure, termination reason, timeout) and whether it recorded a state write of its own.
 */
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { StateRow } from '../../src/policy';
import { durationMs } from '../../src/reconciler';

export interface RunInfo {
  runId: string;
  /** COMPLETED, FAILED, TERMINATED, TIMED_OUT, CANCELED, RUNNING, ... */
  status: string;
  closedAt: number | null;
  /** The run chain: the first run of the start this run belongs to (kept by a reset). */
  chain: string;
  /** The run this one was reset from, when it is a reset run. */
  resetFrom: string | null;
  /** A COMPLETED run's result. */
  result?: StateRow;
  /** A FAILED run's failure message. */
  failure?: string;
  /** A TERMINATED run's reason (as the history has it; may be empty). */
  terminateReason?: string;
  /** The workflow execution timeout it was started with, in ms (null: none). */
  executionTimeoutMs: number | null;
  /**
   * A state write recorded by this run itself (a local-activity marker after its reset point, if
   * any): a run without one may have closed before writing anything.
   */
  wroteState: boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Every run of `workflowId` (visibility), in the order they closed (a running one last). */
export async function listRuns(
  client: Client,
  workflowId: string,
): Promise<{ runId: string; status: string; closedAt: number | null }[]> {
  const query = `WorkflowId = '${workflowId.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const out: { runId: string; status: string; closedAt: number | null }[] = [];
  for await (const r of client.workflow.list({ query })) {
    out.push({ runId: r.runId, status: r.status.name, closedAt: r.closeTime?.getTime() ?? null });
  }
  return out.sort((a, b) => (a.closedAt ?? Infinity) - (b.closedAt ?? Infinity));
}

/** One run's details from its history. */
async function describeRun(
  client: Client,
  workflowId: string,
  run: { runId: string; status: string; closedAt: number | null },
): Promise<RunInfo> {
  const history = await client.workflow.getHandle(workflowId, run.runId).fetchHistory();
  const events = history.events ?? [];
  const started = events[0]?.workflowExecutionStartedEventAttributes;
  let resetAt = -1;
  events.forEach((e, i) => {
    if (e.workflowTaskFailedEventAttributes?.baseRunId) resetAt = i;
  });
  const info: RunInfo = {
    ...run,
    chain: started?.originalExecutionRunId ?? '',
    resetFrom: resetAt >= 0 ? (events[resetAt]?.workflowTaskFailedEventAttributes?.baseRunId ?? null) : null,
    executionTimeoutMs: durationMs(started?.workflowExecutionTimeout),
    wroteState: events.slice(resetAt + 1).some((e) => e.markerRecordedEventAttributes),
  };
  const last = events[events.length - 1];
  const completed = last?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0];
  if (completed) info.result = defaultPayloadConverter.fromPayload<StateRow>(completed);
  const failed = last?.workflowExecutionFailedEventAttributes?.failure;
  if (failed) info.failure = failed.message ?? '';
  const terminated = last?.workflowExecutionTerminatedEventAttributes;
  if (terminated) info.terminateReason = terminated.reason ?? '';
  return info;
}

/**
 * Every run of `workflowId` with its details, once visibility lists them all closed (it lags the
 * close by a moment); gives up after `timeoutMs` and returns what it has.
 */
export async function collectRuns(
  client: Client,
  workflowId: string,
  timeoutMs = 30_000,
): Promise<RunInfo[]> {
  const deadline = Date.now() + timeoutMs;
  let runs = await listRuns(client, workflowId);
  while (Date.now() < deadline) {
    const current = await client.workflow
      .getHandle(workflowId)
      .describe()
      .catch(() => null);
    const listed = current ? runs.find((r) => r.runId === current.runId) : undefined;
    if (current && listed && listed.status === current.status.name && runs.every((r) => r.closedAt !== null))
      break;
    await sleep(500);
    runs = await listRuns(client, workflowId);
  }
  return Promise.all(runs.map((r) => describeRun(client, workflowId, r)));
}
