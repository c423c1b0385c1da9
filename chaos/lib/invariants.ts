/**
 * The invariants, checked after every scenario from the state table, the simulator's request log and
 * Temporal:
 *   - every started execution ends `completed` or `error` (closed in Temporal, terminal row that
 *     agrees with the workflow's own result): none stuck or lost; for executions ended or run again
 *     from outside, the row agrees with the latest run and no run's writes were lost (endings.ts);
 *   - API effects no more than the idempotency keys allow, and poll_count equals the status
 *     requests the API answered (effects.ts);
 *   - every `error` row names the step and the cause;
 *   - no row ever went backwards (sampled while running, and the final row; sampler.ts);
 *   - the outcome is the one the scenario expects (including "errored as expected");
 *   - the token appears nowhere.
 */
import { isDeepStrictEqual } from 'node:util';
import type { StateRow } from '../../src/policy';
import type { RequestLogEntry } from '../../devtools/simulator/server';
import { zeroCounts, type ScenarioCounts, type ScenarioResult } from './counts';
import { ApiLog, checkEffects, checkPolls } from './effects';
import { checkRuns } from './endings';
import type { RowHead, VersionRegression } from './sampler';
import type { ScenarioContext } from './scenario';
import type { Outcome } from './temporal';

const STEP_PREFIX = /^(validate input|create policy|poll policy status|trigger circuit breaker): (\S.{4,})/s;

function ms(iso: string): number {
  return Date.parse(iso);
}

/** Most timestamps in any window of `widthMs` (sorted input). */
function maxInWindow(times: number[], widthMs: number): number {
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < times.length; hi++) {
    while ((times[hi] ?? 0) - (times[lo] ?? 0) >= widthMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

/** Why a one-run execution is lost (not closed by itself, no terminal row, not its own final row), or null. */
function lostReason(o: Outcome | undefined, row: StateRow | undefined): string | null {
  if (!o?.closed || (o.temporalStatus !== 'COMPLETED' && o.temporalStatus !== 'FAILED'))
    return `did not end: Temporal status ${o?.temporalStatus ?? 'unknown'}`;
  if (!row) return 'no row in policy_execution_state';
  if (row.status !== 'completed' && row.status !== 'error') return `row stuck in '${row.status}'`;
  if (o.result && (o.result.state_version !== row.state_version || o.result.status !== row.status))
    return `row (v${row.state_version} ${row.status}) is not the workflow's result (v${o.result.state_version})`;
  if (o.failure && (row.status !== 'error' || !(row.error_message ?? '').endsWith(o.failure.message)))
    return `row does not carry the workflow's failure '${o.failure.message}'`;
  return null;
}

const CUT = new Set(['TERMINATED', 'TIMED_OUT', 'CANCELED']);

export function checkInvariants(args: {
  ctx: ScenarioContext;
  rows: StateRow[];
  requests: RequestLogEntry[];
  regressions: VersionRegression[];
  secretHits: string[];
}): ScenarioResult {
  const { ctx, rows } = args;
  const violations = [...ctx.violations];
  const rowsById = new Map(rows.map((r) => [r.execution_id, r]));
  const log = new ApiLog(args.requests);

  const disruptions = [
    ...ctx.events
      .filter((e) => e.what.startsWith('SIGKILL'))
      .map((e) => ({ from: ctx.startedAt + e.at, to: ctx.startedAt + e.at })),
    ...ctx.disruptions,
  ];
  /** An answer that may have been lost with its worker or server: at most 5 s before, or during, a fault. */
  const nearFault = (t: number) => disruptions.some((d) => t >= d.from - 5000 && t <= d.to);
  const counts: ScenarioCounts = {
    ...zeroCounts(),
    executions: ctx.executions.length,
    versionRegressions: args.regressions.length,
    secretsFound: args.secretHits.length,
  };
  const byLabel: ScenarioResult['byLabel'] = {};
  let pollsRedone = 0;
  let silentRuns = 0;
  let noRow = 0;

  for (const e of ctx.executions) {
    const fail = (what: string) => violations.push(`${e.workflowId} [${e.label}]: ${what}`);
    const eid = e.expect.executionId ?? e.workflowId;
    const row = rowsById.get(eid);
    const label = (byLabel[e.label] ??= { completed: 0, error: 0, other: 0 });
    // ---- none lost: closed in Temporal, terminal row, and the row is the final row of its run
    let lost: string | null;
    let rowChain = e.firstRunId;
    let runs: 'one' | 'one-cut' | 'several' = 'one';
    if (e.expect.endings) {
      const v = checkRuns(e, row);
      lost = v.problem;
      if (lost === null && !row) {
        // Every run closed before writing anything: nothing to fix, nothing to check.
        noRow += 1;
        continue;
      }
      if (v.rowRun) rowChain = v.rowRun.chain;
      silentRuns += v.silentRuns;
      const all = e.runs ?? [];
      runs = all.length > 1 ? 'several' : CUT.has(all[0]?.status ?? '') ? 'one-cut' : 'one';
    } else lost = lostReason(e.outcome, row);
    if (lost !== null || !row) {
      fail(lost ?? 'no row');
      counts.lost += 1;
      label.other += 1;
      continue;
    }
    const r = row;
    if (r.status === 'completed') {
      counts.completed += 1;
      label.completed += 1;
    } else {
      counts.errored += 1;
      label.error += 1;
    }

    // ---- the expected outcome
    const x = e.expect;
    let expected = x.status === 'either' || x.status === r.status;
    if (r.status === 'error' && x.error && !x.error.test(r.error_message ?? '')) expected = false;
    if (!expected) {
      counts.unexpectedOutcomes += 1;
      fail(
        `expected ${x.status}${x.error ? ` ${String(x.error)}` : ''}, got ${r.status}: ${r.error_message ?? ''}`,
      );
    } else if (r.status === 'error') counts.erroredAsExpected += 1;

    // ---- error rows name the step and the cause
    if (r.status === 'error' && !STEP_PREFIX.test(r.error_message ?? '')) {
      counts.badErrorMessages += 1;
      fail(`error message does not name the step and the cause: ${JSON.stringify(r.error_message)}`);
    }

    // ---- rejected inputs: non-retryable, naming the field, and nothing sent to the API
    if (x.rejectedField !== undefined) {
      const f = e.outcome?.failure;
      if (!f || f.type !== 'InvalidPolicyInput' || f.nonRetryable !== true) {
        fail(`expected a non-retryable InvalidPolicyInput, got ${JSON.stringify(f)}`);
        counts.unexpectedOutcomes += 1;
      } else if (!f.message.startsWith(`invalid input: ${x.rejectedField}`)) {
        fail(`the error does not name ${x.rejectedField}: ${f.message}`);
        counts.unexpectedOutcomes += 1;
      }
      const sent = log.ofBodyExecution(eid).length + log.creates(eid, rowChain).length;
      if (sent > 0 || r.poll_count !== 0 || r.policy_id !== null) {
        fail(`a rejected input still ran: ${sent} API requests, poll_count ${r.poll_count}`);
        counts.unexpectedOutcomes += 1;
      }
    }
    // ---- accepted inputs are stored (and sent) verbatim
    if (x.verbatim !== undefined) {
      if (!isDeepStrictEqual(r.policy_data, x.verbatim)) {
        fail('policy_data is not the input verbatim');
        counts.unexpectedOutcomes += 1;
      }
      const body = log.creates(eid, rowChain)[0]?.body;
      if (!isDeepStrictEqual(body, { ...(x.verbatim as object), execution_id: eid })) {
        fail('the create request body is not the input verbatim (plus execution_id)');
        counts.unexpectedOutcomes += 1;
      }
    }
    if (x.policyId !== undefined && r.policy_id !== x.policyId) {
      fail(`policy_id ${JSON.stringify(r.policy_id)} is not ${JSON.stringify(x.policyId)}`);
      counts.unexpectedOutcomes += 1;
    }

    // ---- API effects no more than the keys allow; poll_count equals the answered status requests
    checkEffects({ e, eid, row: r, rowChain, log, counts, fail });
    const polls = checkPolls({
      row: r,
      log,
      runs,
      nearFault: ctx.scenario.processFaults ? nearFault : null,
    });
    if (polls && 'mismatch' in polls) {
      counts.pollMismatches += 1;
      fail(polls.mismatch);
    } else if (polls) pollsRedone += polls.redone;
  }

  for (const reg of args.regressions) {
    const at = (h: RowHead) => `run ${h.run_id ?? '?'} v${h.state_version} ${h.status} (${h.updated_at})`;
    violations.push(`${reg.executionId}: state went backwards from ${at(reg.from)} to ${at(reg.to)}`);
  }
  for (const hit of args.secretHits) violations.push(`secret: ${hit}`);

  // ---- request rates
  const times = log.requests.map((q) => ms(q.at)).sort((a, b) => a - b);
  counts.peakApiRequestsPerSecond = maxInWindow(times, 1000);
  if (ctx.downWindows.length > 0) {
    const end = Date.now();
    const dead = times.filter((t) => ctx.downWindows.some((w) => t >= w.from && t <= (w.to ?? end)));
    counts.maxDeadApiRequestsPerMinute = maxInWindow(dead, 60_000);
    const bound = ctx.scenario.deadApiBoundPerMinute?.(ctx);
    if (bound !== undefined) {
      ctx.metrics.dead_api_bound_per_minute = bound;
      if (counts.maxDeadApiRequestsPerMinute > bound) {
        violations.push(
          `${counts.maxDeadApiRequestsPerMinute} requests in a minute to a dead API, more than the bound ${bound}`,
        );
      }
    }
  }
  if (pollsRedone > 0) ctx.metrics.polls_redone_after_process_fault = pollsRedone;
  if (silentRuns > 0) ctx.metrics.runs_closed_before_writing = silentRuns;
  if (noRow > 0) ctx.metrics.executions_without_row_closed_before_writing = noRow;
  ctx.metrics.api_requests = log.requests.length;
  ctx.metrics.worker_kills = ctx.pools.reduce((n, p) => n + p.kills, 0);
  ctx.metrics.worker_unexpected_exits = ctx.pools.reduce((n, p) => n + p.unexpectedExits, 0);

  return {
    name: ctx.scenario.name,
    title: ctx.scenario.title,
    pass: violations.length === 0,
    durationMs: 0,
    counts,
    metrics: ctx.metrics,
    events: ctx.events,
    violations,
    byLabel,
  };
}
