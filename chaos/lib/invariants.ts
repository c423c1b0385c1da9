/**
 * The invariants, checked after every scenario from the state table, the simulator's request log and
 * Temporal:
 *   - every started execution ends `completed` or `error` (closed in Temporal, terminal row that
 *     agrees with the workflow's own result): none stuck or lost;
 *   - exactly one create and at most one circuit breaker per execution (committed by the API; every
 *     request carries the execution's idempotency key);
 *   - poll_count equals the status requests the API answered;
 *   - every `error` row names the step and the cause;
 *   - no row ever went backwards in state_version (sampled while running, and the final row);
 *   - the outcome is the one the scenario expects (including "errored as expected");
 *   - the token appears nowhere.
 */
import { isDeepStrictEqual } from 'node:util';
import type { StateRow } from '../../src/policy';
import type { RequestLogEntry } from '../../devtools/simulator/server';
import type { Execution, ScenarioContext } from './scenario';
import type { VersionRegression } from './warehouse';

export interface ScenarioCounts {
  executions: number;
  completed: number;
  errored: number;
  erroredAsExpected: number;
  unexpectedOutcomes: number;
  lost: number;
  duplicateCreates: number;
  duplicateCircuitBreakers: number;
  missingSideEffects: number;
  pollMismatches: number;
  badErrorMessages: number;
  versionRegressions: number;
  secretsFound: number;
  /** Most API requests in any 60 s window while the API was down; null when it never was. */
  maxDeadApiRequestsPerMinute: number | null;
  /** Most API requests that arrived in any 1 s window. */
  peakApiRequestsPerSecond: number;
}

/** Every count at zero (a scenario that crashed, or the start of the checks). */
export function zeroCounts(): ScenarioCounts {
  return {
    executions: 0,
    completed: 0,
    errored: 0,
    erroredAsExpected: 0,
    unexpectedOutcomes: 0,
    lost: 0,
    duplicateCreates: 0,
    duplicateCircuitBreakers: 0,
    missingSideEffects: 0,
    pollMismatches: 0,
    badErrorMessages: 0,
    versionRegressions: 0,
    secretsFound: 0,
    maxDeadApiRequestsPerMinute: null,
    peakApiRequestsPerSecond: 0,
  };
}

export interface ScenarioResult {
  name: string;
  title: string;
  pass: boolean;
  durationMs: number;
  counts: ScenarioCounts;
  metrics: Record<string, number | string | boolean | null>;
  events: { at: number; what: string }[];
  violations: string[];
  /** Outcome per label: how many completed / errored. */
  byLabel: Record<string, { completed: number; error: number; other: number }>;
}

const STEP_PREFIX = /^(validate input|create policy|poll policy status|trigger circuit breaker): (\S.{4,})/s;
/** A response the client refused: it was answered, but never recorded as a poll. */
const REJECTED_RESPONSE =
  /invalid JSON|lacks required field|not a JSON object|larger than \d+ bytes|nests deeper/;
const API_OPS = new Set(['create', 'status', 'circuit', 'httpbin_post', 'httpbin_get']);

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

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function bodyExecutionId(e: RequestLogEntry): string | null {
  const id = isRecord(e.body) ? e.body.execution_id : undefined;
  return typeof id === 'string' ? id : null;
}

export function checkInvariants(args: {
  ctx: ScenarioContext;
  rows: StateRow[];
  requests: RequestLogEntry[];
  regressions: VersionRegression[];
  secretHits: string[];
}): ScenarioResult {
  const { ctx, rows, requests } = args;
  const violations = [...ctx.violations];
  const rowsById = new Map(rows.map((r) => [r.execution_id, r]));
  const apiRequests = requests.filter((r) => API_OPS.has(r.op));

  const byKey = new Map<string, RequestLogEntry[]>();
  const byPolicy = new Map<string, RequestLogEntry[]>();
  const byBodyExecution = new Map<string, RequestLogEntry[]>();
  for (const r of apiRequests) {
    if (r.idempotencyKey !== null) byKey.set(r.idempotencyKey, [...(byKey.get(r.idempotencyKey) ?? []), r]);
    if (r.policyId !== null) byPolicy.set(r.policyId, [...(byPolicy.get(r.policyId) ?? []), r]);
    const bid = bodyExecutionId(r);
    if (bid !== null) byBodyExecution.set(bid, [...(byBodyExecution.get(bid) ?? []), r]);
  }

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

  const fail = (e: Execution, what: string) => violations.push(`${e.workflowId} [${e.label}]: ${what}`);

  for (const e of ctx.executions) {
    const o = e.outcome;
    const eid = e.expect.executionId ?? e.workflowId;
    const row = rowsById.get(eid);
    const label = (byLabel[e.label] ??= { completed: 0, error: 0, other: 0 });
    // ---- none lost: closed in Temporal, terminal row, and the row is the workflow's final row
    let lost = false;
    if (!o?.closed || (o.temporalStatus !== 'COMPLETED' && o.temporalStatus !== 'FAILED')) {
      lost = true;
      fail(e, `did not end: Temporal status ${o?.temporalStatus ?? 'unknown'}`);
    }
    if (!row) {
      lost = true;
      fail(e, 'no row in policy_execution_state');
    } else if (row.status !== 'completed' && row.status !== 'error') {
      lost = true;
      fail(e, `row stuck in '${row.status}'`);
    } else if (
      o?.result &&
      (o.result.state_version !== row.state_version || o.result.status !== row.status)
    ) {
      lost = true;
      fail(
        e,
        `row (v${row.state_version} ${row.status}) is not the workflow's result (v${o.result.state_version})`,
      );
    } else if (
      o?.failure &&
      (row.status !== 'error' || !(row.error_message ?? '').endsWith(o.failure.message))
    ) {
      lost = true;
      fail(e, `row does not carry the workflow's failure '${o.failure.message}'`);
    }
    if (lost) {
      counts.lost += 1;
      label.other += 1;
      continue;
    }
    const r = row as StateRow;
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
        e,
        `expected ${x.status}${x.error ? ` ${String(x.error)}` : ''}, got ${r.status}: ${r.error_message ?? ''}`,
      );
    } else if (r.status === 'error') counts.erroredAsExpected += 1;

    // ---- error rows name the step and the cause
    if (r.status === 'error' && !STEP_PREFIX.test(r.error_message ?? '')) {
      counts.badErrorMessages += 1;
      fail(e, `error message does not name the step and the cause: ${JSON.stringify(r.error_message)}`);
    }

    const createKey = `${eid}:create`;
    const circuitKey = `${eid}:circuit`;
    const creates = (byKey.get(createKey) ?? []).filter((q) => q.op === 'create' || q.op === 'httpbin_post');
    const circuits = (byKey.get(circuitKey) ?? []).filter(
      (q) => q.op === 'circuit' || q.op === 'httpbin_post',
    );

    // ---- rejected inputs: non-retryable, naming the field, and nothing sent to the API
    if (x.rejectedField !== undefined) {
      const f = o?.failure;
      if (!f || f.type !== 'InvalidPolicyInput' || f.nonRetryable !== true) {
        fail(e, `expected a non-retryable InvalidPolicyInput, got ${JSON.stringify(f)}`);
        counts.unexpectedOutcomes += 1;
      } else if (!f.message.startsWith(`invalid input: ${x.rejectedField}`)) {
        fail(e, `the error does not name ${x.rejectedField}: ${f.message}`);
        counts.unexpectedOutcomes += 1;
      }
      const sent = (byBodyExecution.get(eid) ?? []).length + creates.length;
      if (sent > 0 || r.poll_count !== 0 || r.policy_id !== null) {
        fail(e, `a rejected input still ran: ${sent} API requests, poll_count ${r.poll_count}`);
        counts.unexpectedOutcomes += 1;
      }
    }
    // ---- accepted inputs are stored (and sent) verbatim
    if (x.verbatim !== undefined) {
      if (!isDeepStrictEqual(r.policy_data, x.verbatim)) {
        fail(e, 'policy_data is not the input verbatim');
        counts.unexpectedOutcomes += 1;
      }
      const body = creates[0]?.body;
      if (!isDeepStrictEqual(body, { ...(x.verbatim as object), execution_id: eid })) {
        fail(e, 'the create request body is not the input verbatim (plus execution_id)');
        counts.unexpectedOutcomes += 1;
      }
    }
    if (x.policyId !== undefined && r.policy_id !== x.policyId) {
      fail(e, `policy_id ${JSON.stringify(r.policy_id)} is not ${JSON.stringify(x.policyId)}`);
      counts.unexpectedOutcomes += 1;
    }

    // ---- exactly one create, at most one circuit breaker; every request under its key
    for (const q of byBodyExecution.get(eid) ?? []) {
      const isCircuit = q.op === 'circuit' || (isRecord(q.body) && q.body.trigger_reason !== undefined);
      const want = isCircuit ? circuitKey : createKey;
      if (q.idempotencyKey !== want) fail(e, `${q.op} request #${q.seq} without its idempotency key`);
    }
    if (x.profile !== 'httpbin') {
      const committedCreates = creates.filter((q) => q.committed).length;
      const committedCircuits = circuits.filter((q) => q.committed).length;
      if (committedCreates > 1) {
        counts.duplicateCreates += 1;
        fail(e, `policy created ${committedCreates} times`);
      }
      if (committedCircuits > 1) {
        counts.duplicateCircuitBreakers += 1;
        fail(e, `circuit breaker triggered ${committedCircuits} times`);
      }
      if (r.policy_id !== null && committedCreates !== 1) {
        counts.missingSideEffects += 1;
        fail(e, `has a policy id but ${committedCreates} committed creates`);
      }
      if (r.status === 'completed' && committedCircuits !== 1) {
        counts.missingSideEffects += 1;
        fail(e, `completed with ${committedCircuits} circuit breakers triggered`);
      }
    }

    // ---- poll_count equals the status requests the API answered
    if (r.policy_id !== null) {
      const answered = (byPolicy.get(r.policy_id) ?? []).filter(
        (q) =>
          (q.op === 'status' || q.op === 'httpbin_get') &&
          q.responseStatus !== null &&
          q.responseStatus >= 200 &&
          q.responseStatus < 300,
      );
      const rejectedLast =
        r.status === 'error' &&
        (r.error_message ?? '').startsWith('poll policy status: ') &&
        REJECTED_RESPONSE.test(r.error_message ?? '');
      const expectedPolls = answered.length - (rejectedLast ? 1 : 0);
      if (r.poll_count !== expectedPolls) {
        // A worker killed (or a server restarted) after the API answered but before the poll was
        // recorded polls again: allowed only when every surplus answer came just before such a fault.
        const surplus = expectedPolls - r.poll_count;
        const nearKill = answered.filter((q) => nearFault(ms(q.at)));
        if (ctx.scenario.processFaults && surplus > 0 && nearKill.length >= surplus) {
          pollsRedone += surplus;
        } else {
          counts.pollMismatches += 1;
          fail(e, `poll_count ${r.poll_count} but the API answered ${answered.length} status requests`);
        }
      }
    }
  }

  for (const reg of args.regressions) {
    violations.push(
      `${reg.executionId}: state went backwards from v${reg.from.version} ${reg.from.status} to v${reg.to.version} ${reg.to.status}`,
    );
  }
  for (const hit of args.secretHits) violations.push(`secret: ${hit}`);

  // ---- request rates
  const times = apiRequests.map((q) => ms(q.at)).sort((a, b) => a - b);
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
  ctx.metrics.api_requests = apiRequests.length;
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
