/**
 * The policy API operations of the simulator, acting on its state: create (registers the policy,
 * idempotent by Idempotency-Key, honours a script's assignPolicyId), status (answers from the
 * policy's status script) and circuit (triggers the breaker once per key). Routing, logging and
 * faults around them are in api-routes.ts.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { isRecord, nonEmptyString, type Reply } from './io';
import type { SimState } from './state';
import type { JsonValue, RequestLogEntry } from './types';

const READY = ['success', 'completed', 'active', 'ready'];
const WAITING = ['pending', 'processing'];
const FAILED = ['failed', 'error'];

export function statusMessage(status: string): string {
  const s = status.trim().toLowerCase();
  if (READY.includes(s)) return 'Policy is ready for circuit breaker';
  if (WAITING.includes(s)) return 'Policy is still being processed';
  if (FAILED.includes(s)) return 'Policy creation failed';
  return `Policy status is ${status}`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** `YYYYMMDD_HHMMSS` in UTC. */
function stamp(d = new Date()): string {
  return (
    `${d.getUTCFullYear()}${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())}_` +
    `${pad2(d.getUTCHours())}${pad2(d.getUTCMinutes())}${pad2(d.getUTCSeconds())}`
  );
}

function shortRandom(): string {
  return randomBytes(4).toString('hex');
}

export function doCreate(state: SimState, body: JsonValue, entry: RequestLogEntry): Reply {
  if (!isRecord(body)) return { status: 400, body: { error: 'request body must be a JSON object' } };
  const key = entry.idempotencyKey;
  if (key !== null) {
    const prior = state.idempotent.get(`create:${key}`);
    if (prior) {
      entry.replayed = true;
      entry.policyId = prior.policyId;
      state.totals.idempotentReplays += 1;
      return prior;
    }
  }
  const expected = nonEmptyString(body.expected_policy_id);
  const policyId =
    (expected !== null ? state.scripts.get(expected)?.assignPolicyId : undefined) ?? expected ?? randomUUID();
  const executionId = nonEmptyString(body.execution_id) ?? `exec_${stamp()}_${shortRandom()}`;
  entry.policyId = policyId;
  const st = state.policyState(policyId);
  const from = expected !== null && policyId !== expected ? state.scripts.get(expected) : undefined;
  if (from && st.scripted === null) {
    // An assigned id answers status polls from the script that assigned it (its faults stay there).
    st.scripted = { statuses: from.statuses, latencyMs: from.latencyMs };
  }
  if (!st.created) {
    st.created = true;
    state.totals.creates += 1;
  }
  entry.committed = true;
  // A (re-)create starts the status script from the top.
  st.polls = 0;
  st.executionId = executionId;
  st.counters.creates += 1;
  const reply: Reply = {
    status: 200,
    body: {
      policy_id: policyId,
      execution_id: executionId,
      status: 'created',
      message: 'Policy created successfully',
    },
  };
  if (key !== null) state.idempotent.set(`create:${key}`, { ...reply, policyId });
  return reply;
}

export function doStatus(state: SimState, policyId: string): Reply {
  const st = state.policies.get(policyId);
  if (!st?.created) return { status: 404, body: { error: 'policy not found' } };
  const statuses = state.statusesFor(st);
  const status = statuses[Math.min(st.polls, statuses.length - 1)] ?? 'success';
  st.polls += 1;
  return { status: 200, body: { policy_id: policyId, status, message: statusMessage(status) } };
}

export function doCircuit(state: SimState, body: JsonValue, entry: RequestLogEntry): Reply {
  const key = entry.idempotencyKey;
  if (key !== null) {
    const prior = state.idempotent.get(`circuit:${key}`);
    if (prior) {
      entry.replayed = true;
      state.totals.idempotentReplays += 1;
      return prior;
    }
  }
  if (!isRecord(body)) return { status: 400, body: { error: 'request body must be a JSON object' } };
  const policyId = nonEmptyString(body.policy_id);
  if (policyId === null) return { status: 400, body: { error: 'policy_id is required' } };
  const st = state.policies.get(policyId);
  if (!st?.created) return { status: 404, body: { error: 'policy not found' } };
  st.counters.circuitTriggers += 1;
  state.totals.circuitTriggers += 1;
  entry.committed = true;
  const reply: Reply = {
    status: 200,
    body: {
      circuit_breaker_id: `cb_${stamp()}_${shortRandom()}`,
      status: 'initiated',
      message: 'Circuit breaker initiated successfully',
    },
  };
  if (key !== null) state.idempotent.set(`circuit:${key}`, { ...reply, policyId });
  return reply;
}
