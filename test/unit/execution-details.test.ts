/**
 * What the Web UI shows of an execution, rendered without a server (src/policy/details.ts): the
 * one-line summary, the static details of a start (policy, options, state row, starter), an
 * invalid policy said so, and the current details as the row advances.
 */
import { describe, expect, it } from 'vitest';
import { renderCurrentDetails, startMetadata } from '../../src/policy/details';
import { initialState, transition } from '../../src/policy/state';

const POLICY = {
  policy_name: 'sample_policy',
  policy_type: 'data_governance',
  description: 'Sample policy\nwith two lines',
  priority: 'high',
  created_by: 'dbt_user',
};

describe('the static summary and details', () => {
  it('names the policy, the options, the state row and the starter', () => {
    const m = startMetadata({
      policy: POLICY,
      options: { maxPolls: 5 },
      executionId: 'exec-1',
      trigger: 'cli',
    });
    expect(m.staticSummary).toBe('sample_policy · data_governance · priority high');
    expect(m.staticDetails).toContain('- polls: at most 5, 2 s apart');
    expect(m.staticDetails).toContain('`policy_execution_state` where `execution_id` = `exec-1`');
    expect(m.staticDetails).toContain('**Started by** cli');
    expect(m.staticDetails).toContain('Sample policy with two lines');
  });

  it('says when the policy is invalid', () => {
    const m = startMetadata({ policy: { policy_name: 'x' }, executionId: null, trigger: 'dispatcher' });
    expect(m.staticSummary).toMatch(/^invalid input: /);
    expect(m.staticSummary).not.toContain('\n');
  });
});

describe('the current details', () => {
  const at = '2026-01-01T00:00:00.000Z';
  const start = initialState({ executionId: 'exec-1', workflowId: 'exec-1', policy: null, at });

  it('follow the row: step, polls n of max, last API status, error', () => {
    expect(renderCurrentDetails({ row: start, maxPolls: 3 })).toContain('**Step**: create policy');
    const created = transition(start, { type: 'policy_created', at, policyId: 'pol-1', response: null });
    const event = { type: 'polled', at, ready: false, statusText: 'pending', response: null } as const;
    const polled = transition(created, event);
    const text = renderCurrentDetails({ row: polled, event, maxPolls: 3 });
    expect(text).toContain('**Step**: poll policy status');
    expect(text).toContain('polls 1 of 3');
    expect(text).toContain('**Last API status**: `pending`');
    expect(text).toContain('**Policy id**: `pol-1`');
    const failed = transition(polled, { type: 'failed', at, step: 'poll_status', error: 'never ready' });
    const end = renderCurrentDetails({ row: failed, maxPolls: 3 });
    expect(end).toContain('**Failed**');
    expect(end).toContain('never ready');
  });
});
