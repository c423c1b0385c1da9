/**
 * The workflow end to end: real dev server, real simulator over HTTP, a real state table: a DuckDB
 * file, and a schema on the Snowflake emulator (one emulator for this file).
 */
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEARCH_ATTRIBUTE_NAMES, stateQuery, WORKFLOW_TYPE } from '../../src/contracts';
import {
  FAST_RETRY,
  policyWithId,
  runExecution,
  startHarness,
  uniqueId,
  type Harness,
} from '../helpers/harness';
import { TEST_WAREHOUSES, useWarehouses } from '../helpers/warehouses';

const warehouses = useWarehouses();

function failureOf(out: { failure?: Error }): ApplicationFailure {
  expect(out.failure, 'the workflow should have failed').toBeDefined();
  const cause = out.failure?.cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure;
}

describe.each(TEST_WAREHOUSES)('policyExecution on %s', (warehouse) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ apiTimeoutMs: 1500, warehouse, warehouses });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('completes when the policy is ready on the first poll, with all four flags set', async () => {
    const pid = uniqueId('pol');
    const out = await runExecution(h, policyWithId(pid));
    expect(out.failure).toBeUndefined();
    expect(out.row).toMatchObject({
      execution_id: out.workflowId,
      workflow_id: out.workflowId,
      policy_id: pid,
      status: 'completed',
      poll_count: 1,
      completed: true,
      requires_circuit_breaker: true,
      circuit_breaker_initiated: true,
      circuit_breaker_completed: true,
      error_message: null,
      message: 'Circuit breaker initiated successfully',
    });
    expect(out.row?.policy_data).toEqual(policyWithId(pid));
    expect(out.row?.api_response).toMatchObject({ policy_id: pid, status: 'created' });
    expect(out.row?.policy_status_response).toMatchObject({ policy_id: pid, status: 'success' });
    expect(out.row?.circuit_breaker_response).toMatchObject({ status: 'initiated' });
    expect(out.row?.last_poll_time).not.toBeNull();
    // The workflow's result, its query and the warehouse row agree.
    expect(out.result).toEqual(out.row);
    expect(await out.handle.query('state')).toEqual(out.row);
    // Search attributes for the Web UI.
    const desc = await out.handle.describe();
    expect(desc.searchAttributes[SEARCH_ATTRIBUTE_NAMES.status]).toEqual(['completed']);
    expect(desc.searchAttributes[SEARCH_ATTRIBUTE_NAMES.policyId]).toEqual([pid]);
    // One create and one circuit breaker, each with an idempotency key; the guide's headers.
    const reqs = h.sim.requests({ policyId: pid });
    const creates = reqs.filter((r) => r.path === '/createpolicy');
    const circuits = reqs.filter((r) => r.path === '/circuit');
    expect(creates).toHaveLength(1);
    expect(circuits).toHaveLength(1);
    expect(creates[0]?.idempotencyKey).toBe(`${out.workflowId}:${out.runId}:create`);
    expect(circuits[0]?.idempotencyKey).toBe(`${out.workflowId}:${out.runId}:circuit`);
    // The row names the run that wrote it.
    expect(out.row?.run_id).toBe(out.runId);
    // No state write of its own: the API activities carried every row, and the circuit breaker wrote
    // the terminal one, stamped with the time its result names (the workflow's row is that row).
    const events = (await out.handle.fetchHistory()).events ?? [];
    expect(
      events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity'),
    ).toHaveLength(0);
    const breakerResult = events.filter((e) => e.activityTaskCompletedEventAttributes).at(-1);
    const payload = breakerResult?.activityTaskCompletedEventAttributes?.result?.payloads?.[0]?.data;
    expect(JSON.parse(Buffer.from(payload ?? []).toString('utf8'))).toMatchObject({
      completedRowAt: out.row?.updated_at,
    });
    expect(circuits[0]?.body).toMatchObject({ policy_id: pid, trigger_reason: 'policy_execution_completed' });
  });

  it('keeps polling until the policy is ready on the third poll', async () => {
    const pid = uniqueId('pol');
    h.sim.scriptPolicy(pid, { statuses: ['pending', 'processing', 'ready'] });
    const out = await runExecution(h, policyWithId(pid), { pollIntervalMs: 100 });
    expect(out.failure).toBeUndefined();
    expect(out.row).toMatchObject({
      status: 'completed',
      poll_count: 3,
      completed: true,
      circuit_breaker_completed: true,
    });
    expect(h.sim.requests({ policyId: pid }).filter((r) => r.method === 'GET')).toHaveLength(3);
  });

  it('has the first pending poll in the table during the delay after it, written by the poll itself', async () => {
    const pid = uniqueId('pol');
    h.sim.scriptPolicy(pid, { statuses: ['pending', 'processing', 'ready'] });
    const workflowId = uniqueId('exec');
    const handle = await h.env.client.workflow.start(WORKFLOW_TYPE, {
      taskQueue: h.taskQueue,
      workflowId,
      args: [policyWithId(pid), { pollIntervalMs: 1500, retry: FAST_RETRY, refreshModel: false }],
    });
    // During the first delay: the row says poll 1 ('pending'), and the workflow's own row is that one.
    const deadline = Date.now() + 20_000;
    let row = await h.warehouse.getState(workflowId);
    while ((row?.poll_count ?? 0) < 1 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      row = await h.warehouse.getState(workflowId);
    }
    expect(row).toMatchObject({ status: 'policy_created', poll_count: 1 });
    expect(row?.message).toBe("Policy status 'pending' after poll 1");
    expect(h.sim.requests({ policyId: pid }).filter((r) => r.method === 'GET')).toHaveLength(1);
    // The activity writes the row before it completes, so the workflow's own row follows a moment later.
    let queried = await handle.query(stateQuery);
    while ((queried?.poll_count ?? 0) < 1 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      queried = await handle.query(stateQuery);
    }
    expect(queried).toEqual(row);
    await handle.result();
    // No state write of its own: each pending poll wrote its own row (the first from the row it
    // carried, the second from the row it was handed as its base), the circuit breaker the terminal one.
    const history = await handle.fetchHistory();
    const localActivities = (history.events ?? [])
      .filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity')
      .map((e) =>
        Buffer.from(e.markerRecordedEventAttributes?.details?.data?.payloads?.[0]?.data ?? []).toString(
          'utf8',
        ),
      );
    expect(localActivities).toHaveLength(0);
    expect((await h.warehouse.getState(workflowId))?.poll_count).toBe(3);
  });

  it('writes the row before a delay itself when the row is too big to hand to the next poll', async () => {
    const pid = uniqueId('pol');
    // The first status answer is ~64 KB: the row holding it does not travel to the second poll again.
    h.sim.scriptPolicy(pid, {
      statuses: ['pending', 'processing', 'ready'],
      faults: [{ on: 'status', kind: 'oversize', bytes: 64_000, afterCommit: true }],
    });
    const out = await runExecution(h, policyWithId(pid), { pollIntervalMs: 100 });
    expect(out.failure).toBeUndefined();
    expect(out.row).toMatchObject({ status: 'completed', poll_count: 3 });
    const events = (await out.handle.fetchHistory()).events ?? [];
    const localActivities = events
      .filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity')
      .map((e) =>
        Buffer.from(e.markerRecordedEventAttributes?.details?.data?.payloads?.[0]?.data ?? []).toString(
          'utf8',
        ),
      );
    expect(localActivities).toHaveLength(1);
    expect(localActivities[0]).toContain('"recordState"');
    // The big answer is in the history once (the first poll's result), not again in a later input.
    const inputs = events
      .map((e) => e.activityTaskScheduledEventAttributes?.input?.payloads?.[0]?.data)
      .filter((d) => d !== undefined && d !== null)
      .map((d) => Buffer.byteLength(Buffer.from(d)));
    expect(Math.max(...inputs)).toBeLessThan(32_000);
  });

  it("ends in error when the API reports status 'failed'", async () => {
    const pid = uniqueId('pol');
    h.sim.scriptPolicy(pid, { statuses: ['pending', 'failed'] });
    const out = await runExecution(h, policyWithId(pid));
    const failure = failureOf(out);
    expect(failure.type).toBe('PolicyExecutionFailed');
    expect(out.row).toMatchObject({
      status: 'error',
      poll_count: 2,
      completed: false,
      requires_circuit_breaker: false,
      circuit_breaker_initiated: false,
      circuit_breaker_completed: false,
    });
    expect(out.row?.error_message).toMatch(/^poll policy status: policy API reported status 'failed'/);
    expect(failure.message).toBe(out.row?.error_message);
    expect(h.sim.requests({ policyId: pid }).filter((r) => r.path === '/circuit')).toHaveLength(0);
  });

  it('ends in error when the policy is never ready after the last poll', async () => {
    const pid = uniqueId('pol');
    h.sim.scriptPolicy(pid, { statuses: ['pending'] });
    const out = await runExecution(h, policyWithId(pid), { maxPolls: 3, pollIntervalMs: 50 });
    failureOf(out);
    expect(out.row).toMatchObject({ status: 'error', poll_count: 3, requires_circuit_breaker: false });
    expect(out.row?.error_message).toBe(
      "poll policy status: policy not ready after 3 polls (50 ms apart); last status 'pending'",
    );
  });

  it('retries 5xx twice then succeeds, creating the policy once (idempotency key)', async () => {
    const pid = uniqueId('pol');
    h.sim.scriptPolicy(pid, { faults: [{ on: 'create', kind: 'http503', times: 2 }] });
    const out = await runExecution(h, policyWithId(pid));
    expect(out.failure).toBeUndefined();
    expect(out.row).toMatchObject({ status: 'completed', poll_count: 1 });
    const creates = h.sim.requests({ policyId: pid }).filter((r) => r.path === '/createpolicy');
    expect(creates.map((r) => r.responseStatus)).toEqual([503, 503, 200]);
    expect(new Set(creates.map((r) => r.idempotencyKey)).size).toBe(1);
    expect(h.sim.stats().perPolicy[pid]?.creates).toBe(1);
  });

  it('honours 429 Retry-After on a status poll and still completes', async () => {
    const pid = uniqueId('pol');
    h.sim.scriptPolicy(pid, { faults: [{ on: 'status', kind: 'http429', times: 1, retryAfterSeconds: 1 }] });
    const started = Date.now();
    const out = await runExecution(h, policyWithId(pid));
    expect(out.failure).toBeUndefined();
    expect(out.row).toMatchObject({ status: 'completed', poll_count: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('fails without retrying on a malformed JSON response', async () => {
    const pid = uniqueId('pol');
    h.sim.scriptPolicy(pid, { faults: [{ on: 'create', kind: 'malformed_json', times: -1 }] });
    const out = await runExecution(h, policyWithId(pid));
    failureOf(out);
    expect(out.row).toMatchObject({ status: 'error', policy_id: null, poll_count: 0 });
    expect(out.row?.error_message).toMatch(/^create policy: invalid JSON in response/);
    expect(h.sim.requests({ policyId: pid }).filter((r) => r.path === '/createpolicy')).toHaveLength(1);
  });

  it('times out a hanging status request and ends in error after the retries', async () => {
    const pid = uniqueId('pol');
    h.sim.scriptPolicy(pid, { faults: [{ on: 'status', kind: 'hang', times: -1 }] });
    const out = await runExecution(h, policyWithId(pid), {
      retry: { maximumAttempts: 2, initialIntervalMs: 50, maximumIntervalMs: 50 },
    });
    failureOf(out);
    expect(out.row).toMatchObject({ status: 'error', poll_count: 0, policy_id: pid });
    expect(out.row?.error_message).toBe('poll policy status: timed out after 1500 ms');
    expect(h.sim.requests({ policyId: pid }).filter((r) => r.method === 'GET')).toHaveLength(2);
  });

  it('rejects invalid input with a non-retryable error naming the field, before any API call', async () => {
    const pid = uniqueId('pol');
    const before = h.sim.requests().length;
    const out = await runExecution(h, policyWithId(pid, { priority: 'urgent' }));
    const failure = failureOf(out);
    expect(failure.type).toBe('InvalidPolicyInput');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('policy.priority');
    expect(out.row).toMatchObject({ status: 'error', poll_count: 0, policy_id: null });
    expect(out.row?.error_message).toContain('validate input: invalid input: policy.priority');
    expect(h.sim.requests().length).toBe(before);
  });

  it('rejects a missing field and bad options the same way', async () => {
    const { policy_name: _omit, ...noName } = policyWithId(uniqueId('pol'));
    const out = await runExecution(h, noName);
    expect(failureOf(out).message).toBe('invalid input: policy.policy_name: is required');
    const out2 = await runExecution(h, policyWithId(uniqueId('pol')), { maxPolls: -1 });
    expect(failureOf(out2).message).toContain('options.maxPolls');
  });
});
