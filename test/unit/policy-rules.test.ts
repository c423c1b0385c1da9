import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  classifyPolicyStatus,
  idempotencyKey,
  supersedes,
  initialState,
  InvalidTransitionError,
  MAX_POLICY_JSON_CHARS,
  transition,
  validateOptions,
  validatePolicy,
  type StateRow,
} from '../../src/policy';

const sample = JSON.parse(fs.readFileSync('examples/sample-policy.json', 'utf8')) as Record<string, unknown>;

describe('status mapping', () => {
  it.each(['success', 'completed', 'active', 'ready', 'READY', ' Success '])('%s is ready', (s) =>
    expect(classifyPolicyStatus(s)).toBe('ready'),
  );
  it.each(['pending', 'processing', 'Processing'])('%s means wait', (s) =>
    expect(classifyPolicyStatus(s)).toBe('wait'),
  );
  it.each(['failed', 'error', 'ERROR'])('%s is failed', (s) =>
    expect(classifyPolicyStatus(s)).toBe('failed'),
  );
  it.each(['created', '', 'deleted', 'readyish'])('%j is unknown', (s) =>
    expect(classifyPolicyStatus(s)).toBe('unknown'),
  );
  it.each([null, undefined, 3, {}, ['ready']])('non-string %j is unknown', (s) =>
    expect(classifyPolicyStatus(s)).toBe('unknown'),
  );
});

describe('input validation', () => {
  it('accepts the guide sample policy verbatim', () => {
    const r = validatePolicy(sample);
    expect(r).toEqual({ ok: true, value: sample });
  });

  it('accepts the guide custom policy (no expected_policy_id)', () => {
    const custom = {
      policy_name: 'custom_policy',
      policy_type: 'security',
      description: 'Custom security policy',
      priority: 'critical',
      created_by: 'security_team',
      parameters: {
        retention_days: 365,
        classification: 'confidential',
        compliance_level: 'strict',
        circuit_breaker_enabled: true,
      },
    };
    expect(validatePolicy(custom).ok).toBe(true);
  });

  it.each([
    ['policy_name', 'policy.policy_name: is required'],
    ['policy_type', 'policy.policy_type: is required'],
    ['priority', 'policy.priority: '],
    ['created_by', 'policy.created_by: is required'],
  ])('names a missing %s', (field, message) => {
    const { [field]: _drop, ...rest } = sample;
    const r = validatePolicy(rest);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.field).toBe(`policy.${field}`);
      expect(r.message).toContain(message);
    }
  });

  it.each([
    [{ policy_name: 42 }, 'policy.policy_name', 'expected string'],
    [{ priority: 'urgent' }, 'policy.priority', 'must be one of low, medium, high, critical'],
    [{ parameters: { retention_days: '90' } }, 'policy.parameters.retention_days', 'expected number'],
    [{ parameters: { retention_days: 1.5 } }, 'policy.parameters.retention_days', 'whole number'],
    [
      { parameters: { circuit_breaker_enabled: 'yes' } },
      'policy.parameters.circuit_breaker_enabled',
      'expected boolean',
    ],
    [{ parameters: 'none' }, 'policy.parameters', 'expected object'],
    [{ policy_name: '' }, 'policy.policy_name', 'must not be empty'],
    [{ policy_name: '   ' }, 'policy.policy_name', 'must not be blank'],
    [{ created_by: 'bob\u0000' }, 'policy.created_by', 'control characters'],
    [{ policy_name: 'x'.repeat(257) }, 'policy.policy_name', 'at most 256'],
    [{ surprise: true }, 'policy.surprise', 'unknown field'],
  ])('rejects %j naming %s', (patch, field, text) => {
    const r = validatePolicy({ ...sample, ...patch });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.field).toBe(field);
      expect(r.message).toContain(text);
    }
  });

  it.each([
    [null, 'got null'],
    [[sample], 'got an array'],
    ['{"policy_name":"x"}', 'got string'],
    [7, 'got number'],
  ])('rejects non-object %j', (input, text) => {
    const r = validatePolicy(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain(text);
  });

  it('rejects oversize input before parsing fields', () => {
    const r = validatePolicy({ ...sample, description: 'x'.repeat(MAX_POLICY_JSON_CHARS) });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(/more than the limit of 65536/);
  });

  it('rejects deep nesting in parameters', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 12; i++) deep = { d: deep };
    const r = validatePolicy({ ...sample, parameters: { extra: deep } });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain('nest');
  });

  it('stores SQL text and unicode verbatim', () => {
    const p = {
      ...sample,
      policy_name: "'; DROP TABLE policy_execution_state; --",
      description: 'Zürich 政策 🚦\nline 2',
    };
    expect(validatePolicy(p)).toEqual({ ok: true, value: p });
  });

  it('applies option defaults and names bad options', () => {
    expect(validateOptions(undefined)).toEqual({
      ok: true,
      value: {
        maxPolls: 3,
        pollIntervalMs: 2000,
        refreshModel: true,
        retry: { maximumAttempts: 8, initialIntervalMs: 1000, maximumIntervalMs: 20000 },
      },
    });
    const r = validateOptions({ maxPolls: 0 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.field).toBe('options.maxPolls');
    const r2 = validateOptions({ executionId: '../x' });
    expect(r2.ok).toBe(false);
    const r3 = validateOptions('fast');
    expect(r3.ok).toBe(false);
  });
});

describe('state reducer', () => {
  const t0 = '2026-01-01T12:00:00.000Z';
  const start = (): StateRow =>
    initialState({ executionId: 'e1', workflowId: 'e1', policy: sample as never, at: t0 });

  it('starts pending with every flag false', () => {
    const row = start();
    expect(row).toMatchObject({
      status: 'pending',
      poll_count: 0,
      completed: false,
      requires_circuit_breaker: false,
      circuit_breaker_initiated: false,
      circuit_breaker_completed: false,
      state_version: 1,
      start_time: t0,
    });
  });

  it('walks the happy path to completed with all four flags set', () => {
    let row = start();
    row = transition(row, {
      type: 'policy_created',
      at: 't1',
      policyId: 'p1',
      response: { policy_id: 'p1' },
    });
    expect(row).toMatchObject({ status: 'policy_created', policy_id: 'p1', state_version: 2 });
    row = transition(row, {
      type: 'polled',
      at: 't2',
      ready: false,
      statusText: 'pending',
      response: { status: 'pending' },
    });
    expect(row).toMatchObject({
      status: 'policy_created',
      poll_count: 1,
      last_poll_time: 't2',
      requires_circuit_breaker: false,
    });
    row = transition(row, {
      type: 'polled',
      at: 't3',
      ready: true,
      statusText: 'ready',
      response: { status: 'ready' },
    });
    expect(row).toMatchObject({ status: 'policy_ready', poll_count: 2, requires_circuit_breaker: true });
    row = transition(row, { type: 'circuit_breaker_initiated', at: 't4' });
    expect(row).toMatchObject({ status: 'policy_ready', circuit_breaker_initiated: true, completed: false });
    row = transition(row, {
      type: 'circuit_breaker_completed',
      at: 't5',
      response: { circuit_breaker_id: 'cb' },
    });
    expect(row).toMatchObject({
      status: 'completed',
      completed: true,
      requires_circuit_breaker: true,
      circuit_breaker_initiated: true,
      circuit_breaker_completed: true,
      circuit_breaker_response: { circuit_breaker_id: 'cb' },
      state_version: 6,
      updated_at: 't5',
      error_message: null,
    });
  });

  it('records failures with the step in the message and refuses to leave a terminal state', () => {
    let row = start();
    row = transition(row, { type: 'failed', at: 't1', step: 'create_policy', error: 'HTTP 400 Bad Request' });
    expect(row).toMatchObject({
      status: 'error',
      error_message: 'create policy: HTTP 400 Bad Request',
      completed: false,
    });
    expect(() =>
      transition(row, { type: 'policy_created', at: 't2', policyId: 'p', response: null }),
    ).toThrow(InvalidTransitionError);
  });

  it('rejects out-of-order events', () => {
    expect(() =>
      transition(start(), { type: 'polled', at: 't', ready: true, statusText: 'ready', response: null }),
    ).toThrow(/polled from status 'pending'/);
    expect(() => transition(start(), { type: 'circuit_breaker_completed', at: 't', response: null })).toThrow(
      InvalidTransitionError,
    );
  });

  it('never mutates its input', () => {
    const row = start();
    const copy = structuredClone(row);
    transition(row, { type: 'policy_created', at: 't1', policyId: 'p1', response: {} });
    expect(row).toEqual(copy);
  });

  it('derives idempotency keys from the execution id and its run chain', () => {
    expect(idempotencyKey('e1', 'create', 'run-a')).toBe('e1:run-a:create');
    expect(idempotencyKey('e1', 'circuit', 'run-a')).not.toBe(idempotencyKey('e1', 'create', 'run-a'));
    // A re-run (another chain) gets keys of its own; executions from before the change keep theirs.
    expect(idempotencyKey('e1', 'create', 'run-b')).not.toBe(idempotencyKey('e1', 'create', 'run-a'));
    expect(idempotencyKey('e1', 'create')).toBe('e1:create');
  });

  it('supersedes: same run by version, another run by the time it wrote', () => {
    const w = (run_id: string | null, state_version: number, second: number) => ({
      run_id,
      state_version,
      updated_at: new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString(),
    });
    expect(supersedes(w('A', 2, 1), w('A', 1, 5))).toBe(true);
    expect(supersedes(w('A', 1, 9), w('A', 2, 1))).toBe(false);
    expect(supersedes(w('A', 2, 1), w('A', 2, 1))).toBe(false);
    // A later run wins with a lower version; a late write of the earlier run loses with a higher one.
    expect(supersedes(w('B', 1, 20), w('A', 5, 10))).toBe(true);
    expect(supersedes(w('A', 6, 11), w('B', 1, 20))).toBe(false);
    // Rows that do not name their run compare by version.
    expect(supersedes(w('B', 4, 0), w(null, 3, 9))).toBe(true);
    expect(supersedes(w(null, 3, 9), w('B', 4, 0))).toBe(false);
  });
});
