/**
 * Secrets: POLICY_API_TOKEN reaches the API on every request, and appears nowhere else: not in
 * workflow history (`temporal workflow show --output json`), the state table (or any table dbt
 * builds), dbt's output, or the worker logs, even when the API reflects it back in error bodies,
 * invalid JSON, valid JSON fields and the httpbin echo.
 */
import fs from 'node:fs';
import type { Fault } from '../../devtools/simulator/server';
import type { Expect, Scenario } from '../lib/scenario';
import { showWorkflowJson } from '../lib/temporal';
import { dumpAllTables, runDbt } from '../lib/warehouse';
import { COMPLETED, policyFor, stream } from './common';

/**
 * Pads that put the echoed token across the 200-character cut of error excerpts (the token starts
 * at character 165-180), so a client that cut before redacting would leak part of it.
 */
const pad = (n: number) => 'x'.repeat(n);

export const secrets: Scenario = {
  name: 'secrets',
  title:
    'the token reaches the API but not history, the state table, dbt output or logs, even when the API echoes it',
  async run(ctx) {
    await ctx.startWorkers(1);
    const httpbinQueue = `${ctx.taskQueue}-httpbin`;
    await ctx.startWorkers(
      1,
      { POLICY_API_PROFILE: 'httpbin', POLICY_TASK_QUEUE: httpbinQueue },
      'worker-httpbin',
    );
    const plans: { label: string; faults: Fault[]; expect: Expect }[] = [
      { label: 'plain', faults: [], expect: COMPLETED },
      {
        label: '500 echoing the token, then fine',
        faults: [
          {
            on: 'create',
            kind: 'raw_body',
            status: 500,
            body: `{"error":"rejected ${pad(149)}{{authorization}}"}`,
          },
        ],
        expect: COMPLETED,
      },
      {
        label: 'status echoing the token in a JSON field',
        faults: [
          {
            on: 'status',
            kind: 'raw_body',
            afterCommit: true,
            body: '{"status":"ready","seen":"{{authorization}}"}',
          },
        ],
        expect: COMPLETED,
      },
      {
        label: 'invalid JSON echoing the token at the excerpt cut',
        faults: [{ on: 'create', kind: 'raw_body', body: `${pad(158)}{{authorization}}` }],
        expect: { status: 'error', error: /^create policy: invalid JSON in response/ },
      },
      {
        label: '404 echoing the token',
        faults: [{ on: 'circuit', kind: 'raw_body', status: 404, body: `${pad(173)}{{authorization}}` }],
        expect: { status: 'error', error: /^trigger circuit breaker: HTTP 404 Not Found/ },
      },
    ];
    await stream(ctx, ctx.n(30, 5), 6, (i) => {
      const p = plans[i % plans.length]!;
      const { pid, policy } = policyFor(ctx);
      ctx.sim.scriptPolicy(pid, { faults: p.faults });
      return ctx.start({ policy, expect: p.expect, label: p.label });
    });
    await stream(ctx, ctx.n(10, 2), 6, () =>
      ctx.start({
        ...policyFor(ctx),
        taskQueue: httpbinQueue,
        expect: { status: 'completed', profile: 'httpbin' },
        label: 'httpbin profile (the API echoes every header)',
      }),
    );
  },
  async after(ctx, data) {
    const violations: string[] = [];
    const bearer = `Bearer ${ctx.env.token}`;
    const api = data.requests.filter((r) => r.op !== 'health' && r.op !== 'unknown');
    const without = api.filter((r) => r.authorizationHeader !== bearer);
    if (api.length === 0 || without.length > 0) {
      violations.push(`${without.length} of ${api.length} API requests did not carry the token`);
    }
    ctx.metrics.requests_with_token = api.length - without.length;
    // The CLI's view of every history.
    for (let i = 0; i < ctx.executions.length; i += 4) {
      await Promise.all(
        ctx.executions.slice(i, i + 4).map(async (e) =>
          ctx.scanTexts.push({
            where: `temporal workflow show ${e.workflowId}`,
            text: await showWorkflowJson(ctx.env.temporalAddress, e.workflowId),
          }),
        ),
      );
    }
    ctx.metrics.histories_shown = ctx.executions.length;
    // dbt over the same warehouse: its console output, logs, artifacts, and every table it built.
    if (ctx.size === 'full') {
      const run = await runDbt(ctx.warehousePath, ctx.env.dir);
      ctx.metrics.dbt_run = run.code === 0 ? `ok in ${run.ms} ms` : `exit ${run.code}`;
      ctx.scanTexts.push({ where: 'dbt run output', text: run.output });
      for (const f of run.files)
        ctx.scanTexts.push({ where: `dbt file ${f}`, text: fs.readFileSync(f, 'utf8') });
      ctx.metrics.dbt_files_scanned = run.files.length;
    }
    if (fs.existsSync(ctx.warehousePath)) {
      ctx.scanTexts.push({
        where: 'every table in the warehouse',
        text: await dumpAllTables(ctx.warehousePath),
      });
    }
    return violations;
  },
};
