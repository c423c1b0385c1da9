/**
 * Bad input (the corpus, as real workflow inputs) and hostile API responses (ids, bodies, statuses).
 */
import { isDeepStrictEqual } from 'node:util';
import { BAD_INPUT_CORPUS } from '../../test/fixtures/corpora/bad-input';
import { HOSTILE_POLICY_IDS } from '../../test/fixtures/corpora/hostile-policy-ids';
import type { Execution, Expect, Scenario } from '../lib/scenario';
import { COMPLETED, policyFor } from './common';

function isPlainObject(v: unknown): boolean {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export const badInput: Scenario = {
  name: 'bad-input',
  title: `${BAD_INPUT_CORPUS.length} hostile workflow inputs: each rejected non-retryably naming the field before any API call, or stored verbatim`,
  async run(ctx) {
    await ctx.startWorkers(1);
    // Quick: every fifth case, and the valid custom executionId (a frozen-RegExp bug once refused it).
    const cases =
      ctx.size === 'full'
        ? BAD_INPUT_CORPUS
        : BAD_INPUT_CORPUS.filter((c, i) => i % 5 === 0 || c.name.includes('custom executionId'));
    await Promise.all(
      cases.map((c) => {
        const { policy, options } = c.build(ctx.uid('in'));
        const custom = isPlainObject(options)
          ? (options as { executionId?: unknown }).executionId
          : undefined;
        const expect: Expect = c.expect.accepted
          ? {
              status: 'completed',
              verbatim: policy,
              executionId: typeof custom === 'string' ? custom : undefined,
            }
          : { status: 'error', rejectedField: c.expect.field, error: /^validate input: invalid input: / };
        return ctx.start({
          policy,
          options,
          rawOptions: options !== undefined && !isPlainObject(options),
          expect,
          label: c.expect.accepted ? 'accepted' : 'rejected',
        });
      }),
    );
  },
  after(ctx, data) {
    // The table survived every injection attempt, one row per execution.
    const violations: string[] = [];
    if (data.rows.length !== ctx.executions.length) {
      violations.push(`${data.rows.length} rows for ${ctx.executions.length} executions`);
    }
    ctx.metrics.corpus_cases = ctx.executions.length;
    return violations;
  },
};

const E = '{{E}}';

const HUGE_STRING_NOTE = 'x'.repeat(10);

export const hostileResponses: Scenario = {
  name: 'hostile-responses',
  title:
    'hostile policy ids stay one encoded path segment; odd bodies and statuses end cleanly, stored verbatim',
  async run(ctx) {
    await ctx.startWorkers(1);
    ctx.defaults = { ...ctx.defaults, pollIntervalMs: 100 };
    const starts: Promise<Execution>[] = [];
    const ids = ctx.size === 'full' ? HOSTILE_POLICY_IDS : HOSTILE_POLICY_IDS.filter((_, i) => i % 3 === 0);
    // ---- hostile policy ids, assigned by the API
    ids.forEach((hostile) => {
      const { pid, policy } = policyFor(ctx);
      const assigned = hostile;
      ctx.sim.scriptPolicy(pid, { assignPolicyId: assigned, statuses: ['pending', 'ready'] });
      starts.push(
        ctx.start({
          policy,
          expect: { status: 'completed', policyId: assigned },
          label: 'hostile policy id',
        }),
      );
    });
    for (const dots of ['.', '..']) {
      const { pid, policy } = policyFor(ctx);
      ctx.sim.scriptPolicy(pid, { assignPolicyId: dots });
      starts.push(
        ctx.start({
          policy,
          expect: {
            status: 'error',
            error: /^poll policy status: policy id "\.\.?" cannot be used as a URL path segment/,
          },
          label: 'dot-segment policy id',
        }),
      );
    }
    {
      const { pid, policy } = policyFor(ctx);
      ctx.sim.scriptPolicy(pid, { assignPolicyId: `unpaired \ud800 surrogate ${pid}` });
      starts.push(
        ctx.start({
          policy,
          expect: { status: 'error', error: /^poll policy status: HTTP 404/ },
          label: 'unpaired surrogate in policy id',
        }),
      );
    }
    if (ctx.size === 'full') {
      const { pid, policy } = policyFor(ctx);
      ctx.sim.scriptPolicy(pid, { assignPolicyId: `${pid}-${'L'.repeat(3000)}` });
      starts.push(
        ctx.start({
          policy,
          expect: {
            status: 'error',
            error: /^create policy: response field 'policy_id' is longer than 256 characters/,
          },
          label: '3000-character policy id',
        }),
      );
    }
    // ---- hostile bodies (the API acted first, then answered this)
    const bodies: { label: string; on: 'create' | 'status' | 'circuit'; body: string; expect: Expect }[] = [
      {
        label: 'create without policy_id',
        on: 'create',
        body: '{"status":"created"}',
        expect: { status: 'error', error: /^create policy: response lacks required field 'policy_id'/ },
      },
      {
        label: 'create with a numeric policy_id',
        on: 'create',
        body: '{"policy_id":42}',
        expect: { status: 'error', error: /^create policy: response lacks required field 'policy_id'/ },
      },
      {
        label: 'create answering an array',
        on: 'create',
        body: '[]',
        expect: { status: 'error', error: /^create policy: response is not a JSON object/ },
      },
      {
        label: 'create with duplicate policy_id keys, real one last',
        on: 'create',
        body: `{"policy_id":"decoy","policy_id":"${E}"}`,
        expect: COMPLETED,
      },
      {
        label: 'create with duplicate policy_id keys, decoy last',
        on: 'create',
        body: `{"policy_id":"${E}","policy_id":"decoy-${E}"}`,
        expect: { status: 'error', error: /^poll policy status: HTTP 404/ },
      },
      {
        label: 'status with a numeric status',
        on: 'status',
        body: '{"status":1}',
        expect: { status: 'error', error: /^poll policy status: response lacks required field 'status'/ },
      },
      {
        label: 'status without status',
        on: 'status',
        body: `{"policy_id":"${E}"}`,
        expect: { status: 'error', error: /^poll policy status: response lacks required field 'status'/ },
      },
      {
        label: 'status with duplicate status keys',
        on: 'status',
        body: '{"status":"failed","status":"ready"}',
        expect: COMPLETED,
      },
      {
        label: 'status with SQL, __proto__ and an unpaired surrogate',
        on: 'status',
        body: `{"status":"ready","message":"'; DROP TABLE policy_execution_state; --","__proto__":{"polluted":true},"note":"bad \\ud800 ${HUGE_STRING_NOTE}"}`,
        expect: COMPLETED,
      },
      {
        label: 'status nested 10 000 deep',
        on: 'status',
        body: `{"status":"ready","x":${'['.repeat(10_000)}${']'.repeat(10_000)}}`,
        expect: { status: 'error', error: /^poll policy status: response nests deeper than 64 levels/ },
      },
      {
        label: 'circuit answering a number',
        on: 'circuit',
        body: '7',
        expect: { status: 'error', error: /^trigger circuit breaker: response is not a JSON object/ },
      },
      {
        label: 'circuit with every field of the wrong type',
        on: 'circuit',
        body: '{"circuit_breaker_id":1,"status":false,"message":[]}',
        expect: COMPLETED,
      },
    ];
    for (const b of ctx.size === 'full' ? bodies : bodies.filter((_, i) => i % 2 === 0)) {
      const { pid, policy } = policyFor(ctx);
      ctx.sim.scriptPolicy(pid, {
        statuses: ['ready'],
        faults: [{ on: b.on, kind: 'raw_body', afterCommit: true, body: b.body.split(E).join(pid) }],
      });
      starts.push(ctx.start({ policy, expect: b.expect, label: b.label }));
    }
    // ---- unexpected status strings
    const statuses: { label: string; statuses: string[]; maxPolls?: number; expect: Expect }[] = [
      {
        label: 'status in odd case and padding',
        statuses: [' Pending ', 'PROCESSING', ' READY '],
        maxPolls: 4,
        expect: COMPLETED,
      },
      {
        label: 'unknown statuses until the last poll',
        statuses: ['weird', 'stranger'],
        maxPolls: 2,
        expect: {
          status: 'error',
          error: /^poll policy status: policy not ready after 2 polls .*last status 'stranger'/,
        },
      },
      {
        label: "status 'failed ' with padding",
        statuses: ['failed '],
        expect: { status: 'error', error: /^poll policy status: policy API reported status 'failed '/ },
      },
      { label: 'empty status, then ready', statuses: ['', 'ready'], expect: COMPLETED },
    ];
    for (const s of ctx.size === 'full' ? statuses : statuses.slice(0, 2)) {
      const { pid, policy } = policyFor(ctx);
      ctx.sim.scriptPolicy(pid, { statuses: s.statuses });
      starts.push(
        ctx.start({
          policy,
          options: s.maxPolls ? { maxPolls: s.maxPolls } : {},
          expect: s.expect,
          label: s.label,
        }),
      );
    }
    // ---- a Retry-After far beyond the retry policy's maximum interval
    if (ctx.size === 'full') {
      const { pid, policy } = policyFor(ctx);
      ctx.sim.scriptPolicy(pid, { faults: [{ on: 'status', kind: 'http429', retryAfterSeconds: 86_400 }] });
      starts.push(ctx.start({ policy, expect: COMPLETED, label: 'Retry-After: 86400' }));
    }
    await Promise.all(starts);
  },
  after(ctx, data) {
    const violations: string[] = [];
    const rows = new Map(data.rows.map((r) => [r.execution_id, r]));
    for (const e of ctx.executions) {
      const row = rows.get(e.workflowId);
      if (e.label === 'hostile policy id' && row?.policy_id) {
        const expectedPath = `/policy/${encodeURIComponent(row.policy_id)}`;
        const gets = data.requests.filter((r) => r.op === 'status' && r.policyId === row.policy_id);
        if (gets.length === 0)
          violations.push(`${e.workflowId}: no status request for ${JSON.stringify(row.policy_id)}`);
        for (const g of gets) {
          if (g.path !== expectedPath || g.query !== null) {
            violations.push(
              `${e.workflowId}: status URL ${g.path}${g.query ? `?${g.query}` : ''} is not ${expectedPath}`,
            );
          }
        }
      }
      if (e.label === 'status with SQL, __proto__ and an unpaired surrogate' && row) {
        const expected = JSON.parse(
          `{"status":"ready","message":"'; DROP TABLE policy_execution_state; --","__proto__":{"polluted":true},"note":"bad \\ufffd ${HUGE_STRING_NOTE}"}`,
        ) as unknown;
        if (!isDeepStrictEqual(row.policy_status_response, expected)) {
          violations.push(
            `${e.workflowId}: policy_status_response not stored as answered: ${JSON.stringify(row.policy_status_response)}`,
          );
        }
      }
    }
    return violations;
  },
};
