/**
 * The endings reconciler (docs/design.md, decision 18): endings the workflow cannot write itself.
 * A run that Temporal terminated (the CLI's or the Web UI's Terminate), timed out (workflow execution
 * or run timeout), or that failed or was cancelled without writing its terminal row leaves the row at
 * `pending` / `policy_created` / `policy_ready`. Every pass asks Temporal's visibility for the runs of
 * the policy workflow that closed that way since the last pass (one list query, not one describe per
 * row), reads their rows in one query, and writes an `error` row naming what happened
 * (`poll policy status: terminated: <reason>`, `... timed out after 30 s (workflow execution timeout)`)
 * for each row still open whose run is the workflow id's latest and nothing of it is running.
 *
 * Safe on every worker at once: the write is the row's next version within the same run, so two
 * reconcilers write the same row and the guard keeps one; a later run (a reset, a re-run) always
 * supersedes it. It logs every row it fixes and asks for a model refresh.
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { WORKFLOW_TYPE } from './contracts';
import { PassLoop } from './pass-loop';
import { transition, type StateRow, type Step } from './policy/state';
import type { ExecutionStatus } from './policy/status';
import type { Warehouse } from './warehouse/types';

export interface ReconcilerOptions {
  client: Client;
  warehouse: Warehouse;
  /** Pause between passes. Default 15 000. */
  intervalMs?: number;
  /** The first pass looks this far back for closed runs. Default 24 h. */
  lookbackMs?: number;
  /** Called with the rows a pass fixed (e.g. to ask for a model refresh). */
  onFixed?: (rows: readonly StateRow[]) => Promise<void>;
  logger?: { info(msg: string, fields?: Record<string, unknown>): void; warn(msg: string): void };
}

export interface ReconcilePass {
  /** Closed runs visibility returned. */
  closedRuns: number;
  fixed: StateRow[];
}

/** Closed runs a pass examines at most (the rest wait for the next pass). */
const MAX_RUNS_PER_PASS = 1000;
/** A pass re-reads closes this long before the previous one started (visibility may lag). */
const OVERLAP_MS = 60_000;
/** Ids per visibility `IN (...)` query. */
const IDS_PER_QUERY = 100;

const OPEN_STATUSES: readonly ExecutionStatus[] = ['pending', 'policy_created', 'policy_ready'];
/** The step an open row was at (the step its error names). */
const STEP_AT: Record<string, Step> = {
  pending: 'create_policy',
  policy_created: 'poll_status',
  policy_ready: 'circuit_breaker',
};

function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** A Temporal duration (protobuf seconds and nanos) in ms; null when absent or zero. */
export function durationMs(
  d: { seconds?: unknown; nanos?: number | null } | null | undefined,
): number | null {
  if (!d) return null;
  const s = Number(d.seconds ?? 0);
  const ms = s * 1000 + Math.round((d.nanos ?? 0) / 1e6);
  return ms > 0 ? ms : null;
}

export class EndingsReconciler {
  private since: number;
  private readonly loop: PassLoop;
  readonly totals = { passes: 0, fixed: 0 };

  constructor(private readonly opts: ReconcilerOptions) {
    this.since = Date.now() - (opts.lookbackMs ?? 24 * 3_600_000);
    this.loop = new PassLoop(
      () => this.reconcileOnce(),
      opts.intervalMs ?? 15_000,
      (err) =>
        this.opts.logger?.warn(
          `reconciler: pass failed (will retry): ${err instanceof Error ? err.message : String(err)}`,
        ),
    );
  }

  /** One pass: find runs closed without their terminal row since the last pass, and write it. */
  async reconcileOnce(): Promise<ReconcilePass> {
    const passStartedAt = Date.now();
    const closed = await this.closedRuns(new Date(this.since));
    const latest = new Map<string, WorkflowExecutionInfo>();
    for (const run of closed) {
      const seen = latest.get(run.workflowId);
      if (!seen || (run.closeTime?.getTime() ?? 0) > (seen.closeTime?.getTime() ?? 0))
        latest.set(run.workflowId, run);
    }
    const fixed: StateRow[] = [];
    if (latest.size > 0) {
      const rows = await this.opts.warehouse.statesOfWorkflows([...latest.keys()]);
      const open = rows.filter((r) => OPEN_STATUSES.includes(r.status) && latest.has(r.workflow_id));
      const running = await this.runningWorkflows(open.map((r) => r.workflow_id));
      for (const row of open) {
        if (running.has(row.workflow_id)) continue; // a newer run (a reset) writes its own rows
        const run = latest.get(row.workflow_id);
        if (!run || run.status.name === 'COMPLETED') continue;
        const ending = await this.describeEnding(run);
        const at = (run.closeTime ?? new Date()).toISOString();
        const next = transition(row, {
          type: 'failed',
          at,
          step: STEP_AT[row.status] ?? 'create_policy',
          error: ending,
        });
        fixed.push({ ...next, run_id: run.runId });
      }
      if (fixed.length > 0) {
        await this.opts.warehouse.upsertStates(fixed);
        for (const r of fixed) {
          this.opts.logger?.info(
            `reconciler: execution ${r.execution_id} (workflow ${r.workflow_id}, run ${r.run_id ?? '?'}) ended in ` +
              `Temporal without its terminal row; set to error: ${r.error_message ?? ''}`,
            {
              executionId: r.execution_id,
              policyId: r.policy_id ?? undefined,
              workflowId: r.workflow_id,
              runId: r.run_id,
            },
          );
        }
        await this.opts.onFixed?.(fixed);
      }
    }
    this.since = passStartedAt - OVERLAP_MS;
    this.totals.passes += 1;
    this.totals.fixed += fixed.length;
    return { closedRuns: closed.length, fixed };
  }

  private async closedRuns(since: Date): Promise<WorkflowExecutionInfo[]> {
    const query =
      `WorkflowType = ${quote(WORKFLOW_TYPE)} AND ` +
      `ExecutionStatus IN ('Terminated', 'TimedOut', 'Failed', 'Canceled') AND ` +
      `CloseTime > ${quote(since.toISOString())}`;
    const out: WorkflowExecutionInfo[] = [];
    for await (const run of this.opts.client.workflow.list({ query })) {
      out.push(run);
      if (out.length >= MAX_RUNS_PER_PASS) break;
    }
    return out;
  }

  private async runningWorkflows(workflowIds: readonly string[]): Promise<Set<string>> {
    const running = new Set<string>();
    const ids = [...new Set(workflowIds)];
    for (let i = 0; i < ids.length; i += IDS_PER_QUERY) {
      const list = ids
        .slice(i, i + IDS_PER_QUERY)
        .map(quote)
        .join(', ');
      const query = `WorkflowId IN (${list}) AND ExecutionStatus = 'Running'`;
      for await (const run of this.opts.client.workflow.list({ query })) running.add(run.workflowId);
    }
    return running;
  }

  /** What ended the run, in words: `terminated: <reason>`, `timed out after ...`, `failed: ...`, `cancelled`. */
  private async describeEnding(run: WorkflowExecutionInfo): Promise<string> {
    const kind = run.status.name;
    if (kind === 'TIMED_OUT') {
      try {
        const d = await this.opts.client.workflow.getHandle(run.workflowId, run.runId).describe();
        const config = d.raw.executionConfig;
        const execution = durationMs(config?.workflowExecutionTimeout);
        const runTimeout = durationMs(config?.workflowRunTimeout);
        if (execution !== null) return `timed out after ${seconds(execution)} (workflow execution timeout)`;
        if (runTimeout !== null) return `timed out after ${seconds(runTimeout)} (workflow run timeout)`;
      } catch {
        // Fall back to the run's own duration below.
      }
      const took = (run.closeTime?.getTime() ?? Date.now()) - run.startTime.getTime();
      return `timed out after ${seconds(took)}`;
    }
    const last = await this.lastEvent(run);
    if (kind === 'TERMINATED') {
      const reason = last?.workflowExecutionTerminatedEventAttributes?.reason?.trim();
      return `terminated: ${reason || 'no reason given'}`;
    }
    if (kind === 'CANCELLED') return 'cancelled';
    const message = last?.workflowExecutionFailedEventAttributes?.failure?.message?.trim();
    return `failed: ${message || 'the workflow failed'}`;
  }

  private async lastEvent(run: WorkflowExecutionInfo) {
    try {
      const res = await this.opts.client.workflowService.getWorkflowExecutionHistoryReverse({
        namespace: this.opts.client.options.namespace,
        execution: { workflowId: run.workflowId, runId: run.runId },
        maximumPageSize: 1,
      });
      return res.history?.events?.[0] ?? null;
    } catch {
      return null;
    }
  }

  /** Pass after pass until stop(); a failed pass (Temporal or the warehouse unreachable) is logged and retried. */
  startPolling(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }
}
