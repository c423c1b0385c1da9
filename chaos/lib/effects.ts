/**
 * API effects, checked per execution against the simulator's request log:
 *   - every request of the execution carries an idempotency key of one of its run chains
 *     (`<execution id>:<first run id>:create|circuit`; a reset keeps its chain, a re-run starts one);
 *   - per key at most one committed create and one committed circuit breaker; exactly one create
 *     when the row (or a completed run of the chain) has a policy id, exactly one breaker when it
 *     completed;
 *   - poll_count equals the status requests the API answered (one run that ended by itself; a run
 *     cut from outside may lose the one answer in flight; several runs are not compared).
 */
import { idempotencyKey, type StateRow } from '../../src/policy';
import type { RequestLogEntry } from '../../devtools/simulator/server';
import type { ScenarioCounts } from './counts';
import type { Execution } from './scenario';

/** A response the client refused: it was answered, but never recorded as a poll. */
const REJECTED_RESPONSE =
  /invalid JSON|lacks required field|not a JSON object|larger than \d+ bytes|nests deeper/;
export const API_OPS = new Set(['create', 'status', 'circuit', 'httpbin_post', 'httpbin_get']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function push<K>(m: Map<K, RequestLogEntry[]>, k: K, r: RequestLogEntry): void {
  const list = m.get(k);
  if (list) list.push(r);
  else m.set(k, [r]);
}

/** The API requests of a scenario, indexed by idempotency key, policy id and body execution_id. */
export class ApiLog {
  readonly requests: RequestLogEntry[];
  private readonly byKey = new Map<string, RequestLogEntry[]>();
  private readonly byPolicy = new Map<string, RequestLogEntry[]>();
  private readonly byBodyExecution = new Map<string, RequestLogEntry[]>();

  constructor(all: RequestLogEntry[]) {
    this.requests = all.filter((r) => API_OPS.has(r.op));
    for (const r of this.requests) {
      if (r.idempotencyKey !== null) push(this.byKey, r.idempotencyKey, r);
      if (r.policyId !== null) push(this.byPolicy, r.policyId, r);
      const bid = isRecord(r.body) ? r.body.execution_id : undefined;
      if (typeof bid === 'string') push(this.byBodyExecution, bid, r);
    }
  }

  /** Create requests under `<eid>:<chain>:create`. */
  creates(eid: string, chain: string): RequestLogEntry[] {
    const key = idempotencyKey(eid, 'create', chain);
    return (this.byKey.get(key) ?? []).filter((q) => q.op === 'create' || q.op === 'httpbin_post');
  }

  circuits(eid: string, chain: string): RequestLogEntry[] {
    const key = idempotencyKey(eid, 'circuit', chain);
    return (this.byKey.get(key) ?? []).filter((q) => q.op === 'circuit' || q.op === 'httpbin_post');
  }

  ofPolicy(policyId: string): RequestLogEntry[] {
    return this.byPolicy.get(policyId) ?? [];
  }

  ofBodyExecution(eid: string): RequestLogEntry[] {
    return this.byBodyExecution.get(eid) ?? [];
  }
}

export interface EffectsCheck {
  e: Execution;
  eid: string;
  row: StateRow;
  /** The run chain of the run that wrote the row. */
  rowChain: string;
  log: ApiLog;
  counts: ScenarioCounts;
  fail: (what: string) => void;
}

/** Keys, creates and circuit breakers of one execution. */
export function checkEffects(c: EffectsCheck): void {
  const { e, eid, row, log, counts, fail } = c;
  const keys = new Set(
    e.chains.flatMap((ch) => [idempotencyKey(eid, 'create', ch), idempotencyKey(eid, 'circuit', ch)]),
  );
  for (const q of log.ofBodyExecution(eid)) {
    const isCircuit = q.op === 'circuit' || (isRecord(q.body) && q.body.trigger_reason !== undefined);
    const step = isCircuit ? 'circuit' : 'create';
    if (q.idempotencyKey === null || !keys.has(q.idempotencyKey) || !q.idempotencyKey.endsWith(`:${step}`))
      fail(`${q.op} request #${q.seq} without its idempotency key (${JSON.stringify(q.idempotencyKey)})`);
  }
  if (e.expect.profile === 'httpbin') return;
  const committed = (list: RequestLogEntry[]) => list.filter((q) => q.committed).length;
  for (const chain of e.chains) {
    const creates = committed(log.creates(eid, chain));
    const circuits = committed(log.circuits(eid, chain));
    if (creates > 1) {
      counts.duplicateCreates += 1;
      fail(`policy created ${creates} times under the key of run chain ${chain}`);
    }
    if (circuits > 1) {
      counts.duplicateCircuitBreakers += 1;
      fail(`circuit breaker triggered ${circuits} times under the key of run chain ${chain}`);
    }
  }
  // Whatever the keys: no more committed creates (breakers) for the execution than it has run chains.
  const all = log.ofBodyExecution(eid).filter((q) => q.committed);
  const allCircuits = all.filter((q) => q.op === 'circuit').length;
  if (all.length - allCircuits > e.chains.length) {
    counts.duplicateCreates += 1;
    fail(`${all.length - allCircuits} committed creates for ${e.chains.length} run chain(s)`);
  }
  if (allCircuits > e.chains.length) {
    counts.duplicateCircuitBreakers += 1;
    fail(`${allCircuits} committed circuit breakers for ${e.chains.length} run chain(s)`);
  }
  /** A chain whose row says the create (or the breaker) happened has exactly one committed. */
  const exactlyOne = (chain: string, what: string, has: { policy: boolean; breaker: boolean }) => {
    const creates = committed(log.creates(eid, chain));
    const circuits = committed(log.circuits(eid, chain));
    if (has.policy && creates !== 1) {
      counts.missingSideEffects += 1;
      fail(`${what} has a policy id but ${creates} committed creates`);
    }
    if (has.breaker && circuits !== 1) {
      counts.missingSideEffects += 1;
      fail(`${what} completed with ${circuits} circuit breakers triggered`);
    }
  };
  exactlyOne(c.rowChain, 'the row', { policy: row.policy_id !== null, breaker: row.status === 'completed' });
  for (const run of e.runs ?? []) {
    if (run.status === 'COMPLETED' && run.result && run.runId !== row.run_id) {
      exactlyOne(run.chain, `run ${run.runId}`, { policy: run.result.policy_id !== null, breaker: true });
    }
  }
}

export interface PollCheck {
  row: StateRow;
  log: ApiLog;
  /** How the execution's runs ended: one run that ended by itself, one cut from outside, or several. */
  runs: 'one' | 'one-cut' | 'several';
  /** Process faults: an answer this close to a kill or restart may have been lost with it. */
  nearFault: ((t: number) => boolean) | null;
}

/**
 * poll_count against the status requests the API answered. Returns the polls redone after a process
 * fault (allowed), or a mismatch (a violation), or null when not compared.
 */
export function checkPolls(c: PollCheck): { redone: number } | { mismatch: string } | null {
  const { row } = c;
  if (row.policy_id === null || c.runs === 'several') return null;
  const answered = c.log
    .ofPolicy(row.policy_id)
    .filter(
      (q) =>
        (q.op === 'status' || q.op === 'httpbin_get') &&
        q.responseStatus !== null &&
        q.responseStatus >= 200 &&
        q.responseStatus < 300,
    );
  const rejectedLast =
    row.status === 'error' &&
    (row.error_message ?? '').startsWith('poll policy status: ') &&
    REJECTED_RESPONSE.test(row.error_message ?? '');
  const expected = answered.length - (rejectedLast ? 1 : 0);
  const surplus = expected - row.poll_count;
  if (surplus === 0) return { redone: 0 };
  // A run cut from outside (terminated, timed out) may lose the one answer in flight.
  if (c.runs === 'one-cut' && surplus === 1) return { redone: 0 };
  // A worker killed (or a server restarted) after the API answered but before the poll was recorded
  // polls again: allowed only when every surplus answer came just before such a fault.
  const nearFault = c.nearFault;
  if (nearFault && surplus > 0 && answered.filter((q) => nearFault(Date.parse(q.at))).length >= surplus) {
    return { redone: surplus };
  }
  return { mismatch: `poll_count ${row.poll_count} but the API answered ${answered.length} status requests` };
}
