/**
 * Runs that replace runs: `temporal workflow reset` (to the first workflow task and to the workflow
 * task after the create; after completion, while the create or the circuit POST is in flight, while
 * polling, twice, and a reset run then terminated) and a reused id (a raw start of the same id,
 * Temporal's default ALLOW_DUPLICATE, and the project CLI's `--rerun`, after completion, failure and
 * termination, and while the earlier run's create is still in flight). The row must follow the
 * latest run; a reset shares its original's idempotency keys (the API acts once), a re-run has its
 * own (exactly one more create).
 */
import type { PolicyScript } from '../../devtools/simulator/server';
import type { Execution, Expect, Scenario, ScenarioContext } from '../lib/scenario';
import { policyFor } from './common';
import {
  Arrivals,
  closed,
  cliRerun,
  ENDINGS_WORKER_ENV,
  reset,
  restart,
  terminate,
  whileInFlight,
} from './endings-tools';

const COMPLETES: Expect = { status: 'completed', endings: true };

interface Case {
  label: string;
  script: PolicyScript;
  options?: Record<string, unknown>;
  expect?: Expect;
  /** What happens to the execution after it started. */
  plan(t: Tools, e: Execution, pid: string, i: number): Promise<void>;
}

interface Tools {
  ctx: ScenarioContext;
  arrivals: Arrivals;
  /** The input it was started with (for a re-start). */
  input(e: Execution): { policy: unknown; options: unknown };
}

const READY: PolicyScript = { statuses: ['ready'] };

const RESETS: Case[] = [
  {
    label: 'reset to the first task after completion (every other one twice)',
    script: READY,
    async plan({ ctx }, e, _pid, i) {
      for (let k = 0; k < (i % 2 === 1 ? 2 : 1); k++) {
        await closed(ctx, e);
        await reset(ctx, e, 'first');
      }
    },
  },
  {
    label: 'reset after the create, after completion',
    script: READY,
    async plan({ ctx }, e) {
      await closed(ctx, e);
      await reset(ctx, e, 'after-create');
    },
  },
  {
    label: 'reset after the create, after completion; the reset run fails',
    script: READY,
    expect: {
      status: 'error',
      error: /^poll policy status: policy API reported status 'failed'/,
      endings: true,
    },
    async plan({ ctx }, e, pid) {
      await closed(ctx, e);
      ctx.sim.scriptPolicy(pid, { statuses: ['failed'] });
      await reset(ctx, e, 'after-create');
    },
  },
  {
    label: 'reset to the first task while the create is in flight',
    script: { statuses: ['ready'], latencyMs: 1500 },
    async plan({ ctx, arrivals }, e, pid) {
      await whileInFlight(ctx, arrivals, { policyId: pid, op: 'create', delayMs: 700 }, 'reset', () =>
        reset(ctx, e, 'first'),
      );
    },
  },
  {
    label: 'reset after the create while polling',
    script: { statuses: ['pending', 'pending', 'ready'] },
    options: { pollIntervalMs: 3000, maxPolls: 5 },
    async plan({ ctx, arrivals }, e, pid) {
      await whileInFlight(ctx, arrivals, { policyId: pid, op: 'status', delayMs: 500 }, 'reset', () =>
        reset(ctx, e, 'after-create'),
      );
    },
  },
  {
    label: 'reset to the first task while the circuit POST is in flight (the API acted)',
    script: { statuses: ['ready'], faults: [{ on: 'circuit', kind: 'hang', afterCommit: true }] },
    async plan({ ctx, arrivals }, e, pid) {
      await whileInFlight(ctx, arrivals, { policyId: pid, op: 'circuit', delayMs: 1500 }, 'reset', () =>
        reset(ctx, e, 'first'),
      );
    },
  },
  {
    label: 'reset after completion, the reset run terminated mid-poll',
    script: READY,
    options: { pollIntervalMs: 3000, maxPolls: 20 },
    expect: {
      status: 'error',
      error: /^poll policy status: terminated: chaos: reset run stopped$/,
      endings: true,
    },
    async plan({ ctx, arrivals }, e, pid) {
      await closed(ctx, e);
      ctx.sim.scriptPolicy(pid, { statuses: ['pending'] });
      await reset(ctx, e, 'first');
      // The first run polled once; the reset run's first poll is the second status request.
      await whileInFlight(
        ctx,
        arrivals,
        { policyId: pid, op: 'status', nth: 2, delayMs: 500 },
        'terminate',
        () => terminate(ctx, e, 'chaos: reset run stopped'),
      );
    },
  },
];

/** Waits until the reconciler wrote the row of a terminated run (read-only reads of the file). */
async function reconciled(ctx: ScenarioContext, e: Execution): Promise<void> {
  await ctx.waitFor(`${e.workflowId} reconciled`, async () => {
    await ctx.sleep(500);
    const rows = (await ctx.rows.readHeads().catch(() => null)) ?? [];
    return rows.some((r) => r.execution_id === e.workflowId && r.status === 'error');
  });
}

const REUSES: Case[] = [
  {
    label: 're-started (raw start, same id) after completion',
    script: READY,
    async plan(t, e) {
      await closed(t.ctx, e);
      const { policy, options } = t.input(e);
      await restart(t.ctx, e, policy, options);
    },
  },
  {
    label: 're-started (raw start, same id) after failure',
    script: { statuses: ['failed'] },
    async plan(t, e, pid) {
      await closed(t.ctx, e);
      t.ctx.sim.scriptPolicy(pid, READY);
      const { policy, options } = t.input(e);
      await restart(t.ctx, e, policy, options);
    },
  },
  {
    label: 'run again with the CLI --rerun after completion',
    script: READY,
    async plan(t, e) {
      await closed(t.ctx, e);
      await cliRerun(t.ctx, e, t.input(e).policy);
    },
  },
  {
    label: 'run again with the CLI --rerun after failure',
    script: { statuses: ['failed'] },
    async plan(t, e, pid) {
      await closed(t.ctx, e);
      t.ctx.sim.scriptPolicy(pid, READY);
      await cliRerun(t.ctx, e, t.input(e).policy);
    },
  },
  {
    label: 're-started after a termination the reconciler wrote',
    script: { statuses: ['pending'] },
    options: { pollIntervalMs: 60_000 },
    async plan(t, e, pid) {
      await whileInFlight(t.ctx, t.arrivals, { policyId: pid, op: 'status', delayMs: 300 }, 'terminate', () =>
        terminate(t.ctx, e, 'chaos: before a re-run'),
      );
      await reconciled(t.ctx, e);
      t.ctx.sim.scriptPolicy(pid, READY);
      const { policy, options } = t.input(e);
      await restart(t.ctx, e, policy, options);
    },
  },
  {
    label: "re-started while the terminated run's create is in flight",
    script: { statuses: ['ready'], latencyMs: 2500 },
    async plan(t, e, pid) {
      await whileInFlight(t.ctx, t.arrivals, { policyId: pid, op: 'create', delayMs: 500 }, 'terminate', () =>
        terminate(t.ctx, e, 'chaos: re-run at once'),
      );
      const { policy, options } = t.input(e);
      await restart(t.ctx, e, policy, options);
    },
  },
];

/** Starts `n` executions of every case (a steady stream), runs their plans, waits for the last run. */
async function runCases(ctx: ScenarioContext, cases: Case[], n: number): Promise<void> {
  await ctx.startWorkers(1, ENDINGS_WORKER_ENV);
  const arrivals = new Arrivals(ctx);
  const inputs = new Map<Execution, { policy: unknown; options: unknown }>();
  const tools: Tools = {
    ctx,
    arrivals,
    input: (e) => inputs.get(e) ?? { policy: null, options: null },
  };
  const plans: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    for (const c of cases) {
      const { pid, policy } = policyFor(ctx);
      ctx.sim.scriptPolicy(pid, c.script);
      const options = { ...ctx.defaults, ...c.options };
      const e = await ctx.start({
        policy,
        options,
        rawOptions: true,
        expect: c.expect ?? COMPLETES,
        label: c.label,
      });
      inputs.set(e, { policy, options });
      const plan = async () => {
        try {
          await c.plan(tools, e, pid, i);
        } catch (err) {
          ctx.violations.push(
            `${e.workflowId} [${c.label}]: plan failed: ${err instanceof Error ? err.message : String(err)}`,
          );
        }
        await closed(ctx, e);
      };
      plans.push(plan());
      await ctx.sleep(150);
    }
  }
  await Promise.all(plans);
}

export const resets: Scenario = {
  name: 'reset',
  title:
    'reset executions (first workflow task, after the create) after completion, with the create or the circuit POST in flight, while polling, twice, then terminated: the row follows the latest run, the API acts once per key',
  settleMs: 120_000,
  run: (ctx) => runCases(ctx, RESETS, ctx.n(4, 1)),
};

export const idReuse: Scenario = {
  name: 'id-reuse',
  title:
    'start an id again (raw start, CLI --rerun; refused without it) after completion, failure and termination, and while the earlier create is in flight: the row follows the latest run, each run chain creates once',
  settleMs: 120_000,
  run: (ctx) => runCases(ctx, REUSES, ctx.n(4, 1)),
};
