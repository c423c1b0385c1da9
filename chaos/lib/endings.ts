/**
 * Endings invariants, for executions ended or run again from outside (terminate, a workflow
 * execution timeout, reset, a re-run of the id; `expect.endings`):
 *   - within the reconciler's bound after the last run closed, the row agrees with Temporal's final
 *     status of the latest run (COMPLETED <-> `completed` with that run's result; FAILED <-> `error`
 *     carrying its failure; TERMINATED / TIMED_OUT / CANCELED <-> `error` naming the step and what
 *     happened) and its run_id is that run's, unless that run closed before writing anything;
 *   - no run's writes lost: the row belongs to the last run that wrote (no later run recorded a
 *     write or ended by itself), so a run that completed or failed by itself has its own final row
 *     unless a later run superseded it;
 *   - every run belongs to a start the scenario made (its chain is a first run id it recorded).
 * settleEndings waits (workers still running) until the rows agree, and measures the reconciler.
 */
import type { StateRow } from '../../src/policy';
import { collectRuns, type RunInfo } from './runs';
import type { StateSampler } from './sampler';
import type { Execution, ScenarioContext } from './scenario';

/** How long after a run closed its row must agree with it (the reconciler's bound). */
export const RECONCILE_BOUND_MS = 60_000;
/** Slack for the sampler's own period (it sees a fix up to one period late). */
const SAMPLER_SLACK_MS = 5_000;

/** Endings the workflow cannot write itself: the reconciler writes them. */
const ENDED_FROM_OUTSIDE = new Set(['TERMINATED', 'TIMED_OUT', 'CANCELED']);

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The step an open row was at, as its error names it. */
function stepLabelOf(row: Pick<StateRow, 'policy_id' | 'requires_circuit_breaker'>): string {
  if (row.policy_id === null) return 'create policy';
  return row.requires_circuit_breaker ? 'trigger circuit breaker' : 'poll policy status';
}

/** Why the row does not say how `run` ended, or null when it does. */
function disagreement(run: RunInfo, row: StateRow): string | null {
  const got = `${row.status}${row.error_message ? `: ${row.error_message}` : ''}`;
  switch (run.status) {
    case 'COMPLETED':
      if (row.status !== 'completed' || !run.result || run.result.state_version !== row.state_version)
        return `run ${run.runId} COMPLETED (v${run.result?.state_version ?? '?'}), but the row is v${row.state_version} ${got}`;
      return null;
    case 'FAILED':
      if (row.status !== 'error' || !(row.error_message ?? '').endsWith(run.failure ?? '\0'))
        return `run ${run.runId} FAILED with '${run.failure ?? ''}', but the row is ${got}`;
      return null;
    case 'TERMINATED': {
      const want = `${stepLabelOf(row)}: terminated: ${run.terminateReason?.trim() || 'no reason given'}`;
      return row.status === 'error' && row.error_message === want
        ? null
        : `run ${run.runId} TERMINATED, the row should say '${want}' but is ${got}`;
    }
    case 'TIMED_OUT': {
      const m = /^(.+): timed out after (\d+(?:\.\d)?) s \(workflow execution timeout\)$/.exec(
        row.error_message ?? '',
      );
      const ok =
        row.status === 'error' &&
        m !== null &&
        m[1] === stepLabelOf(row) &&
        run.executionTimeoutMs !== null &&
        Math.round(Number(m[2]) * 1000) === run.executionTimeoutMs;
      return ok
        ? null
        : `run ${run.runId} TIMED_OUT (${run.executionTimeoutMs} ms), the row should name the step and the timeout but is ${got}`;
    }
    case 'CANCELED':
      return row.status === 'error' && (row.error_message ?? '').endsWith('cancelled')
        ? null
        : `run ${run.runId} CANCELED, but the row is ${got}`;
    default:
      return `run ${run.runId} ended ${run.status}`;
  }
}

export interface RunsVerdict {
  /** What is wrong (the execution counts as lost), or null. */
  problem: string | null;
  /** The run that wrote the row. */
  rowRun: RunInfo | null;
  /** Runs after the row's run that closed before writing anything. */
  silentRuns: number;
}

/** The row against every run of the workflow id (collected into `e.runs`). */
export function checkRuns(e: Execution, row: StateRow | undefined): RunsVerdict {
  const runs = e.runs ?? [];
  const verdict = (problem: string | null, rowRun: RunInfo | null = null, silentRuns = 0): RunsVerdict => ({
    problem,
    rowRun,
    silentRuns,
  });
  if (runs.length === 0) return verdict('no runs found in Temporal');
  const open = runs.find((r) => r.closedAt === null);
  if (open) return verdict(`did not end: run ${open.runId} is ${open.status}`);
  const stranger = runs.find((r) => !e.chains.includes(r.chain));
  if (stranger)
    return verdict(`run ${stranger.runId} belongs to no start of the scenario (chain ${stranger.chain})`);
  const silent = (r: RunInfo) => !r.wroteState && ENDED_FROM_OUTSIDE.has(r.status);
  if (!row) return runs.every(silent) ? verdict(null) : verdict('no row in policy_execution_state');
  const at = runs.findIndex((r) => r.runId === row.run_id);
  const rowRun = runs[at];
  if (!rowRun) return verdict(`the row's run ${String(row.run_id)} is not a run of this workflow id`);
  const later = runs.slice(at + 1);
  const writer = later.find((r) => !silent(r));
  if (writer) {
    return verdict(
      `the row (v${row.state_version} ${row.status}) is run ${rowRun.runId}'s, but the later run ${writer.runId} ` +
        `(${writer.status}) wrote its own rows: they were lost`,
    );
  }
  return verdict(disagreement(rowRun, row), rowRun, later.length);
}

/**
 * Waits (workers still running, so their reconcilers work) until every endings execution's row
 * agrees with its latest run, or the bound after that run closed has passed; then collects every
 * run into `e.runs`. A fix seen later than the bound (sampler time) is a violation.
 */
export async function settleEndings(ctx: ScenarioContext, sampler: StateSampler): Promise<void> {
  const targets = ctx.executions.filter((e) => e.expect.endings);
  if (targets.length === 0) return;
  const pending = new Set(targets);
  const lags: number[] = [];
  const hardDeadline = Date.now() + RECONCILE_BOUND_MS + 60_000;
  while (pending.size > 0 && Date.now() < hardDeadline) {
    for (const e of [...pending]) {
      const d = await e.handle.describe().catch(() => null);
      if (!d || d.status.name === 'RUNNING') continue;
      const closedAt = d.closeTime?.getTime() ?? Date.now();
      const seen = sampler.latest(e.expect.executionId ?? e.workflowId);
      const agrees =
        seen !== undefined &&
        seen.head.run_id === d.runId &&
        seen.head.status === (d.status.name === 'COMPLETED' ? 'completed' : 'error');
      if (agrees) {
        pending.delete(e);
        if (!ENDED_FROM_OUTSIDE.has(d.status.name)) continue;
        const lag = Math.max(0, seen.seenAt - closedAt);
        lags.push(lag);
        ctx.note(
          `${e.workflowId}: row fixed for run ${d.runId} (${d.status.name}) seen ${lag} ms after it closed`,
        );
        if (lag > RECONCILE_BOUND_MS + SAMPLER_SLACK_MS)
          ctx.violations.push(
            `${e.workflowId} [${e.label}]: the reconciler fixed the row ${Math.round(lag / 1000)} s after run ${d.runId} closed`,
          );
      } else if (Date.now() > closedAt + RECONCILE_BOUND_MS + SAMPLER_SLACK_MS) {
        pending.delete(e);
        // A latest run that closed before writing anything leaves the earlier row: checkRuns decides.
        const latest = (await collectRuns(ctx.env.client, e.workflowId)).at(-1);
        if (latest?.runId === d.runId && !latest.wroteState) continue;
        ctx.violations.push(
          `${e.workflowId} [${e.label}]: ${Math.round(RECONCILE_BOUND_MS / 1000)} s after run ${d.runId} closed ` +
            `${d.status.name}, the row is ${seen ? `run ${seen.head.run_id}'s ${seen.head.status}` : 'missing'}`,
        );
      }
    }
    if (pending.size > 0) await sleep(1000);
  }
  for (const e of pending) ctx.violations.push(`${e.workflowId} [${e.label}]: never closed or never settled`);
  ctx.metrics.reconciler_fixes = lags.length;
  ctx.metrics.reconcile_lag_max_ms = lags.length > 0 ? Math.max(...lags) : null;
  for (const e of targets) e.runs = await collectRuns(ctx.env.client, e.workflowId);
  ctx.metrics.runs = targets.reduce((n, e) => n + (e.runs?.length ?? 0), 0);
}
