/**
 * The Snowflake lane: the worker on WAREHOUSE=snowflake against the scenario's own Snowflake
 * emulator (devtools/snowflake-emulator; chaos/lib/snowflake.ts), under the warehouse's faults: the
 * endpoint killed and started again on the same port and data, statements held past the adapter's
 * timeout (then landing late), expired session tokens (renewed, and expired for good), and two
 * workers MERGE-ing the same rows. The invariants are the DuckDB scenarios' own, read from the
 * emulator through the real adapter.
 */
import type { FaultState } from '../../devtools/snowflake-emulator/launch';
import type { Execution, Scenario, ScenarioContext } from '../lib/scenario';
import type { ChaosSnowflake } from '../lib/snowflake';
import { COMPLETED, policyFor, stream } from './common';

/** A retry budget that outlasts the warehouse faults (the API itself never fails here). */
const PATIENT_RETRY = { maximumAttempts: 60, initialIntervalMs: 500, maximumIntervalMs: 3000 };

function endpoint(ctx: ScenarioContext): ChaosSnowflake {
  if (!ctx.snowflake) throw new Error(`${ctx.scenario.name} needs warehouse: 'snowflake'`);
  return ctx.snowflake;
}

/** Executions of a few polls a second apart, so that writes keep flowing through the fault. */
function polling(ctx: ScenarioContext, pending: number): void {
  ctx.defaults = { ...ctx.defaults, pollIntervalMs: 1000, maxPolls: pending + 3, retry: PATIENT_RETRY };
  ctx.sim.setDefaultScript({ statuses: [...Array<string>(pending).fill('pending'), 'ready'] });
}

const startOne = (ctx: ScenarioContext, label: string) => () =>
  ctx.start({ ...policyFor(ctx), expect: COMPLETED, label });

/** Waits until the warehouse holds at least `n` rows (the workers are writing). */
async function rowsWritten(ctx: ScenarioContext, n: number): Promise<void> {
  await ctx.waitFor(
    `${n} rows in the warehouse`,
    async () => ((await ctx.rows.readHeads().catch(() => null)) ?? []).length >= n,
    120_000,
  );
}

function record(ctx: ScenarioContext, state: FaultState): void {
  ctx.metrics.statements_delayed = state.delayed;
  ctx.metrics.session_tokens_expired = state.expired;
  ctx.metrics.session_tokens_renewed = state.renewed;
}

export const snowflakeEndpointDown: Scenario = {
  name: 'snowflake-endpoint-down',
  title:
    'the Snowflake endpoint killed (SIGKILL) mid-run, down for a minute, restarted on the same port and data: every execution completes, no row lost or backwards',
  warehouse: 'snowflake',
  settleMs: 300_000,
  async run(ctx) {
    const sf = endpoint(ctx);
    await ctx.startWorkers(2);
    polling(ctx, ctx.n(8, 4));
    const inFlight = ctx.n(12, 3);
    await stream(ctx, inFlight, 3, startOne(ctx, 'in flight when the endpoint went down'));
    await rowsWritten(ctx, inFlight);
    await sf.kill('SIGKILL');
    const wentDown = Date.now();
    ctx.note('snowflake endpoint killed (SIGKILL)');
    await stream(ctx, ctx.n(8, 2), ctx.n(0.2, 1), startOne(ctx, 'started while the endpoint was down'));
    await ctx.sleep(Math.max(0, wentDown + ctx.n(60_000, 12_000) - Date.now()));
    ctx.metrics.snowflake_restart_ms = await sf.restart();
    ctx.metrics.snowflake_down_ms = Date.now() - wentDown;
    ctx.note('snowflake endpoint back (same port, same data)');
    await stream(ctx, ctx.n(8, 2), 2, startOne(ctx, 'started after the endpoint came back'));
  },
};

export const snowflakeStatementHang: Scenario = {
  name: 'snowflake-statement-hang',
  title:
    'MERGEs held 3x past SNOWFLAKE_QUERY_TIMEOUT_MS (5 s; then landing late), twice: the adapter gives up and retries, the late MERGE never moves a row backwards',
  warehouse: 'snowflake',
  settleMs: 240_000,
  async run(ctx) {
    const sf = endpoint(ctx);
    // Long enough not to fire on its own on a loaded machine (the emulator runs one statement at a
    // time, so every statement waits for those before it).
    const timeoutMs = 5000;
    await ctx.startWorkers(2, { SNOWFLAKE_QUERY_TIMEOUT_MS: String(timeoutMs) });
    polling(ctx, ctx.n(8, 4));
    const n = ctx.n(20, 4);
    const started = stream(ctx, n, 2, startOne(ctx, 'through held statements'));
    await rowsWritten(ctx, Math.min(n, 4));
    for (let round = 1; round <= 2; round++) {
      record(ctx, await sf.faults({ delay_ms: 3 * timeoutMs, count: ctx.n(6, 2), match: 'MERGE INTO' }));
      ctx.note(`snowflake: the next MERGEs held ${3 * timeoutMs} ms (round ${round})`);
      const before = Number(ctx.metrics.statements_delayed);
      await ctx.waitFor('a held MERGE', async () => (await sf.faults({})).delayed > before, 60_000);
      await ctx.sleep(4 * timeoutMs);
    }
    await started;
    record(ctx, await sf.faults({ clear: true }));
  },
  after(ctx) {
    return Number(ctx.metrics.statements_delayed) > 0 ? [] : ['no statement was held'];
  },
};

export const snowflakeSessionExpired: Scenario = {
  name: 'snowflake-session-expired',
  title:
    'every session token expired mid-run (renewed with the master token), then both tokens (log in again): every execution completes, nothing lost',
  warehouse: 'snowflake',
  settleMs: 240_000,
  async run(ctx) {
    const sf = endpoint(ctx);
    await ctx.startWorkers(2);
    polling(ctx, ctx.n(8, 4));
    const started = stream(ctx, ctx.n(20, 4), 2, startOne(ctx, 'through expired sessions'));
    await rowsWritten(ctx, 3);
    record(ctx, await sf.faults({ expire: 'session' }));
    ctx.note('snowflake: every session token expired (renewable)');
    await ctx.sleep(ctx.n(8000, 4000));
    record(ctx, await sf.faults({ expire: 'master' }));
    ctx.note('snowflake: every session and master token expired (log in again)');
    await started;
    record(ctx, await sf.faults({ clear: true }));
  },
  after(ctx) {
    return Number(ctx.metrics.session_tokens_expired) > 0 ? [] : ['no session token was expired'];
  },
};

export const snowflakeTwoWorkersMerge: Scenario = {
  name: 'snowflake-two-workers-merge',
  title:
    "two worker processes MERGE-ing the same executions' rows into one Snowflake table (each execution's steps land on both): no row backwards, none lost",
  warehouse: 'snowflake',
  settleMs: 180_000,
  async run(ctx) {
    // Small pools and batches, so that both workers' MERGEs interleave statement by statement. No
    // eager activities: an activity that comes with its workflow task runs on the worker that ran
    // that task, which is sticky, so an execution could keep to one worker from start to end (a run
    // on 9628c4e had all 40 do so); from the task queue its steps land on either.
    await ctx.startWorkers(2, { SNOWFLAKE_POOL_SIZE: '2', WORKER_MAX_EAGER_ACTIVITIES: '0' });
    ctx.defaults = { ...ctx.defaults, pollIntervalMs: 100, maxPolls: 8, retry: PATIENT_RETRY };
    ctx.sim.setDefaultScript({ statuses: ['pending', 'pending', 'pending', 'pending', 'ready'] });
    await stream(ctx, ctx.n(40, 8), 4, startOne(ctx, 'written by both workers'));
  },
  async after(ctx) {
    // Each API activity writes its row alongside its call: an execution whose activities ran on both
    // workers had its row MERGEd by both.
    const both = await Promise.all(ctx.executions.map(async (e) => (await activityWorkers(e)).size > 1));
    const n = both.filter(Boolean).length;
    ctx.metrics.executions_written_by_both_workers = n;
    return n > 0 ? [] : ['no execution had its row written by both workers'];
  },
};

/** The identities of the workers that ran an execution's activities (from its history). */
async function activityWorkers(e: Execution): Promise<Set<string>> {
  const history = await e.handle.fetchHistory();
  const out = new Set<string>();
  for (const event of history.events ?? []) {
    const identity = event.activityTaskStartedEventAttributes?.identity;
    if (identity) out.add(identity);
  }
  return out;
}
