/**
 * Endings the workflow cannot write itself: executions terminated (the CLI's or the Web UI's
 * Terminate) mid-create, mid-poll and mid-circuit, and cut by a workflow execution timeout at each
 * step, some while the API call is in flight (before or after the API acted). The workers'
 * reconcilers must turn every such row into `error` naming the step and what happened, for that
 * run, within 60 s (endings.ts in lib checks it, with every other invariant).
 */
import type { PolicyScript } from '../../devtools/simulator/server';
import type { Expect, Scenario, ScenarioContext } from '../lib/scenario';
import { policyFor } from './common';
import { Arrivals, ENDINGS_WORKER_ENV, terminate, whileInFlight } from './endings-tools';

const ENDED_OK: Expect = { status: 'completed', endings: true };

/** Policies whose circuit POST gets slow only once it arrives (the create and polls stay fast). */
function slowCircuits(ctx: ScenarioContext, latencyMs: number): Set<string> {
  const slow = new Set<string>();
  ctx.onRequest((e) => {
    if (e.op === 'circuit' && e.policyId !== null && slow.has(e.policyId))
      ctx.sim.scriptPolicy(e.policyId, { statuses: ['ready'], latencyMs });
  });
  return slow;
}

interface TerminateCohort {
  label: string;
  script: PolicyScript;
  options?: Record<string, unknown>;
  slowCircuit?: boolean;
  error: RegExp;
  at: { op: 'create' | 'status' | 'circuit'; nth?: number; delayMs: number };
  reason: string;
}

const READY: PolicyScript = { statuses: ['ready'] };
/**
 * Longer than the workers' client timeout in `terminate-mid-step`: a request this slow is never
 * answered, so the step stays in flight until the terminate lands, however late (a loaded machine).
 */
const SLOW_MS = 20_000;
const TERMINATE_WORKER_ENV = { ...ENDINGS_WORKER_ENV, POLICY_API_TIMEOUT_MS: '10000' };

const TERMINATIONS: TerminateCohort[] = [
  {
    label: 'terminated mid-create (before the API acted)',
    script: { statuses: ['ready'], latencyMs: SLOW_MS },
    at: { op: 'create', delayMs: 1000 },
    reason: 'chaos: mid-create',
    error: /^create policy: terminated: chaos: mid-create$/,
  },
  {
    label: 'terminated mid-create (the API acted, no answer yet)',
    script: { statuses: ['ready'], faults: [{ on: 'create', kind: 'hang', afterCommit: true }] },
    at: { op: 'create', delayMs: 1500 },
    reason: 'chaos: mid-create',
    error: /^create policy: terminated: chaos: mid-create$/,
  },
  {
    label: 'terminated between polls',
    script: { statuses: ['pending'] },
    options: { pollIntervalMs: 60_000, maxPolls: 3 },
    at: { op: 'status', delayMs: 500 },
    reason: 'chaos: mid-poll',
    error: /^poll policy status: terminated: chaos: mid-poll$/,
  },
  {
    label: 'terminated with a status request in flight',
    script: { statuses: ['pending'], latencyMs: 2000 },
    options: { pollIntervalMs: 200, maxPolls: 30 },
    at: { op: 'status', nth: 2, delayMs: 700 },
    reason: 'chaos: mid-poll',
    error: /^poll policy status: terminated: chaos: mid-poll$/,
  },
  {
    label: 'terminated mid-circuit (before the API acted)',
    script: READY,
    slowCircuit: true,
    at: { op: 'circuit', delayMs: 1000 },
    reason: 'chaos: mid-circuit',
    error: /^trigger circuit breaker: terminated: chaos: mid-circuit$/,
  },
  {
    label: 'terminated mid-circuit (the API acted, no answer yet)',
    script: { statuses: ['ready'], faults: [{ on: 'circuit', kind: 'hang', afterCommit: true }] },
    at: { op: 'circuit', delayMs: 1500 },
    reason: 'chaos: mid-circuit',
    error: /^trigger circuit breaker: terminated: chaos: mid-circuit$/,
  },
];

export const terminateMidStep: Scenario = {
  name: 'terminate-mid-step',
  title:
    'terminate executions mid-create, mid-poll and mid-circuit, some with the API call in flight (before or after the API acted): every row ends `error` naming the step and the reason, for that run, within 60 s',
  settleMs: 120_000,
  async run(ctx) {
    // A 10 s client timeout: a request the API acted on but never answered stays in flight for 10 s,
    // long enough for the terminate to land in it. One worker (see ENDINGS_WORKER_ENV).
    await ctx.startWorkers(1, TERMINATE_WORKER_ENV);
    const arrivals = new Arrivals(ctx);
    const slow = slowCircuits(ctx, SLOW_MS);
    const cuts: Promise<boolean>[] = [];
    for (let i = 0; i < ctx.n(6, 1); i++) {
      for (const c of TERMINATIONS) {
        const { pid, policy } = policyFor(ctx);
        ctx.sim.scriptPolicy(pid, c.script);
        if (c.slowCircuit) slow.add(pid);
        const e = await ctx.start({
          policy,
          options: c.options,
          expect: { status: 'error', error: c.error, endings: true },
          label: c.label,
        });
        cuts.push(
          whileInFlight(ctx, arrivals, { policyId: pid, ...c.at }, `terminate ${e.workflowId}`, () =>
            terminate(ctx, e, c.reason),
          ),
        );
        await ctx.sleep(100);
      }
    }
    // Not terminated: the reconcilers must leave them alone.
    for (let i = 0; i < ctx.n(4, 1); i++) {
      await ctx.start({ ...policyFor(ctx), expect: ENDED_OK, label: 'not terminated' });
    }
    await Promise.all(cuts);
  },
};

interface TimeoutCohort {
  label: string;
  script: PolicyScript;
  options?: Record<string, unknown>;
  slowCircuit?: boolean;
  timeoutMs: number;
  /** The step the timeout is meant to cut (under load it may land earlier: the row names where). */
  step: string;
}

const TIMEOUTS: TimeoutCohort[] = [
  {
    label: 'timed out mid-create (the create in flight)',
    script: { statuses: ['ready'], latencyMs: 15_000 },
    timeoutMs: 5000,
    step: 'create policy',
  },
  {
    label: 'timed out between polls',
    script: { statuses: ['pending'] },
    options: { pollIntervalMs: 60_000, maxPolls: 3 },
    timeoutMs: 15_000,
    step: 'poll policy status',
  },
  {
    label: 'timed out with a status request in flight',
    script: { statuses: ['pending'], latencyMs: 2500 },
    options: { pollIntervalMs: 100, maxPolls: 50 },
    timeoutMs: 20_000,
    step: 'poll policy status',
  },
  {
    label: 'timed out mid-circuit (the circuit POST in flight)',
    script: READY,
    slowCircuit: true,
    // Inside an attempt, never in a backoff: Temporal does not schedule a retry that would start
    // after the workflow's expiration, it fails the activity at once (the workflow then ends with
    // the attempt's own error). Each attempt waits out the 3 s client deadline, then backs off 1, 2,
    // 4 s: attempts run ~0.4-3.4, ~4.4-7.4 and ~8.6-11.6 s after the start; 10 s is in the third.
    timeoutMs: 10_000,
    step: 'trigger circuit breaker',
  },
];

/** Any step, the row's own (endings.ts checks it is the step the row was at), and the timeout. */
function timedOut(ms: number): RegExp {
  return new RegExp(
    `^(create policy|poll policy status|trigger circuit breaker): timed out after ${ms / 1000} s \\(workflow execution timeout\\)$`,
  );
}

export const workflowTimeout: Scenario = {
  name: 'workflow-timeout',
  title:
    'a workflow execution timeout cuts executions mid-create, mid-poll and mid-circuit (the API call in flight): every row ends `error` naming the step and the timeout, within 60 s',
  settleMs: 120_000,
  async run(ctx) {
    await ctx.startWorkers(1, ENDINGS_WORKER_ENV);
    const slow = slowCircuits(ctx, 60_000);
    for (let i = 0; i < ctx.n(6, 1); i++) {
      for (const c of TIMEOUTS) {
        const { pid, policy } = policyFor(ctx);
        ctx.sim.scriptPolicy(pid, c.script);
        if (c.slowCircuit) slow.add(pid);
        await ctx.start({
          policy,
          options: c.options,
          expect: { status: 'error', error: timedOut(c.timeoutMs), endings: true },
          label: c.label,
          startOptions: { workflowExecutionTimeout: c.timeoutMs },
        });
        await ctx.sleep(100);
      }
    }
    // Within their timeout: complete as usual.
    for (let i = 0; i < ctx.n(4, 1); i++) {
      await ctx.start({
        ...policyFor(ctx),
        expect: ENDED_OK,
        label: 'within its timeout',
        startOptions: { workflowExecutionTimeout: 120_000 },
      });
    }
  },
  after(ctx, data) {
    const rows = new Map(data.rows.map((r) => [r.execution_id, r]));
    let cut = 0;
    let atStep = 0;
    for (const e of ctx.executions) {
      const c = TIMEOUTS.find((t) => t.label === e.label);
      if (!c) continue;
      cut += 1;
      if ((rows.get(e.workflowId)?.error_message ?? '').startsWith(`${c.step}: `)) atStep += 1;
    }
    ctx.metrics.timeouts_at_the_step_meant = `${atStep}/${cut}`;
    return [];
  },
};
