/**
 * What the endings scenarios do to executions from outside, as an operator would: terminate at a
 * moment chosen from the API's request log (while a call is in flight), reset with the `temporal`
 * CLI (to the first workflow task, or to the workflow task after the create), start the id again
 * (a raw start, Temporal's default ALLOW_DUPLICATE, or the project CLI's `--rerun`), and the worker
 * settings these scenarios share.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { WORKFLOW_TYPE } from '../../src/contracts';
import type { RequestLogEntry } from '../../devtools/simulator/server';
import type { Execution, ScenarioContext } from '../lib/scenario';
import { resetWorkflow } from '../lib/temporal';

/**
 * Workers with a short reconciler period (the suite waits 60 s at most for a fix). The endings
 * scenarios run one worker each: two worker processes take turns at the DuckDB file's lock, and in
 * the loaded full suite their state writes then outlasted the 10 s workflow task timeout again and
 * again (an execution's first workflow task came minutes late).
 */
export const ENDINGS_WORKER_ENV = { RECONCILE_INTERVAL_MS: '2000', RECONCILE_LOOKBACK_MS: '300000' };

type Op = RequestLogEntry['op'];

/** When API requests arrived, per policy id and operation (the n-th one). */
export class Arrivals {
  private readonly seen = new Map<string, number[]>();

  constructor(ctx: ScenarioContext) {
    ctx.onRequest((e) => {
      if (e.policyId === null) return;
      const k = `${e.op} ${e.policyId}`;
      this.seen.set(k, [...(this.seen.get(k) ?? []), Date.parse(e.at)]);
    });
  }

  /** The time the `nth` (1-based) `op` request for `policyId` arrived; waits up to `timeoutMs`. */
  async wait(ctx: ScenarioContext, policyId: string, op: Op, nth = 1, timeoutMs = 240_000): Promise<number> {
    const k = `${op} ${policyId}`;
    const ok = await ctx.waitFor(
      `${op} #${nth} of ${policyId}`,
      () => (this.seen.get(k)?.length ?? 0) >= nth,
      timeoutMs,
    );
    if (!ok) throw new Error(`no ${op} request #${nth} for ${policyId} within ${timeoutMs} ms`);
    return this.seen.get(k)?.[nth - 1] ?? Date.now();
  }
}

/**
 * Waits until `delayMs` after the `nth` `op` request of `policyId` arrived, then runs `act`. Never
 * throws: a request that never came (or an act that failed) is a violation, and the other plans go on.
 */
export async function whileInFlight(
  ctx: ScenarioContext,
  arrivals: Arrivals,
  at: { policyId: string; op: Op; nth?: number; delayMs: number },
  what: string,
  act: () => Promise<unknown>,
): Promise<boolean> {
  try {
    const arrived = await arrivals.wait(ctx, at.policyId, at.op, at.nth ?? 1);
    const wait = arrived + at.delayMs - Date.now();
    if (wait > 0) await ctx.sleep(wait);
    ctx.note(`${what} (${at.delayMs} ms after ${at.op} #${at.nth ?? 1} of ${at.policyId})`);
    await act();
    return true;
  } catch (err) {
    ctx.violations.push(`could not ${what}: ${err instanceof Error ? err.message : String(err)}`);
    return false;
  }
}

export function terminate(ctx: ScenarioContext, e: Execution, reason: string): Promise<unknown> {
  return ctx.env.client.workflow.getHandle(e.workflowId).terminate(reason);
}

/** Waits until the workflow id's current run is closed; returns its status. */
export async function closed(ctx: ScenarioContext, e: Execution, timeoutMs = 300_000): Promise<string> {
  const handle = ctx.env.client.workflow.getHandle(e.workflowId);
  let status = 'UNKNOWN';
  await ctx.waitFor(
    `${e.workflowId} closed`,
    async () => {
      await ctx.sleep(200);
      status = (await handle.describe().catch(() => null))?.status.name ?? 'UNKNOWN';
      return status !== 'RUNNING' && status !== 'UNKNOWN';
    },
    timeoutMs,
  );
  return status;
}

/** `temporal workflow reset` of the current run. */
export async function reset(
  ctx: ScenarioContext,
  e: Execution,
  to: 'first' | 'after-create',
  reason = 'chaos reset',
): Promise<void> {
  const target =
    to === 'first'
      ? { type: 'FirstWorkflowTask' as const }
      : { eventId: await afterCreateEventId(ctx, e.workflowId) };
  ctx.note(
    `reset ${e.workflowId} to ${to === 'first' ? 'the first workflow task' : `event ${JSON.stringify(target)}`}`,
  );
  await resetWorkflow(ctx.env.temporalAddress, e.workflowId, target, reason);
}

/** The workflow task completed after the create activity completed (the current run's history). */
async function afterCreateEventId(ctx: ScenarioContext, workflowId: string): Promise<number> {
  const events = (await ctx.env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const created = events.findIndex((ev) => ev.activityTaskCompletedEventAttributes);
  const next = events.slice(created + 1).find((ev) => ev.workflowTaskCompletedEventAttributes);
  if (created < 0 || !next)
    throw new Error(`${workflowId}: no workflow task after the create in its history`);
  return Number(next.eventId);
}

/** A raw start of the same workflow id (Temporal's default reuse policy, ALLOW_DUPLICATE). */
export async function restart(
  ctx: ScenarioContext,
  e: Execution,
  policy: unknown,
  options: unknown,
): Promise<void> {
  const h = await ctx.env.client.workflow.start(WORKFLOW_TYPE, {
    taskQueue: e.taskQueue,
    workflowId: e.workflowId,
    args: [policy, options],
  });
  e.chains.push(h.firstExecutionRunId);
  ctx.note(`re-started ${e.workflowId} (run ${h.firstExecutionRunId})`);
}

/** The project CLI (`policy-execution start`, the snapshot of dist/cli/index.js) against the scenario's queue. */
export async function projectCli(
  ctx: ScenarioContext,
  args: string[],
): Promise<{ code: number | null; out: string }> {
  const cliJs = path.join(path.dirname(ctx.env.workerJs), 'cli', 'index.js');
  const script =
    'require(process.argv[1]).main(process.argv.slice(2)).then((c) => process.exit(c), ' +
    '(e) => { console.error(e && e.message ? e.message : e); process.exit(1); })';
  const child = spawn(process.execPath, ['-e', script, cliJs, ...args], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      NODE_PATH: path.resolve(__dirname, '../../node_modules'),
      TEMPORAL_ADDRESS: ctx.env.temporalAddress,
      TEMPORAL_NAMESPACE: 'default',
      POLICY_TASK_QUEUE: ctx.taskQueue,
      DBT_REFRESH: 'off',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  ctx.scanTexts.push({ where: `policy-execution ${args.join(' ')}`, text: out });
  return { code, out };
}

/**
 * `policy-execution start --id <id>` of an execution that already ran: refused without `--rerun`
 * (a violation if it started anything), run again with it (its new run chain is recorded).
 */
export async function cliRerun(ctx: ScenarioContext, e: Execution, policy: unknown): Promise<void> {
  const file = path.join(ctx.env.dir, `${e.workflowId}.policy.json`);
  fs.writeFileSync(file, JSON.stringify(policy));
  const flags = [
    '--policy',
    file,
    '--id',
    e.workflowId,
    '--poll-interval-ms',
    '200',
    '--max-polls',
    '3',
    '--no-refresh',
  ];
  const before = (await ctx.env.client.workflow.getHandle(e.workflowId).describe()).runId;
  const refused = await projectCli(ctx, ['start', ...flags]);
  const after = (await ctx.env.client.workflow.getHandle(e.workflowId).describe()).runId;
  if (refused.code !== 1 || !/was already started/.test(refused.out) || after !== before) {
    ctx.violations.push(
      `${e.workflowId}: the CLI did not refuse a reused id without --rerun (exit ${refused.code}, run ${after}): ${refused.out.slice(0, 300)}`,
    );
  }
  const rerun = await projectCli(ctx, ['start', ...flags, '--rerun']);
  const run = /started workflow \S+ \(run ([^)\s]+)\)/.exec(rerun.out)?.[1];
  if (rerun.code !== 0 || run === undefined)
    throw new Error(`policy-execution --rerun failed (${rerun.code}): ${rerun.out}`);
  e.chains.push(run);
  ctx.note(`re-ran ${e.workflowId} with the CLI's --rerun (run ${run})`);
}
