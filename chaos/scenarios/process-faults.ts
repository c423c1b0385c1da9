/**
 * Process faults: SIGKILL of the worker at chosen and random points, a restart of the Temporal dev
 * server (persistent database) mid-run, and the warehouse file held by another process (a DuckDB
 * connection, `dbt run`) for tens of seconds.
 */
import type { ChildProcess } from 'node:child_process';
import type { Scenario } from '../lib/scenario';
import { holdWarehouse, runDbt } from '../lib/warehouse';
import type { WorkerPool } from '../lib/workers';
import { COMPLETED, policyFor, stream } from './common';

function exited(child: ChildProcess): Promise<void> {
  return new Promise((r) => {
    if (child.exitCode !== null || child.signalCode !== null) r();
    else child.once('exit', () => r());
  });
}

export const workerSigkill: Scenario = {
  name: 'worker-sigkill',
  title:
    'SIGKILL the worker during a create, between polls, during the circuit POST (after the API acted), during state writes and at random: all complete, nothing twice',
  processFaults: true,
  // Activities cut by a kill are retried after their timeout (API: 20 s heartbeat; state: 2 min).
  settleMs: 330_000,
  async run(ctx) {
    const pool: WorkerPool = await ctx.startWorkers(1);
    ctx.defaults = { ...ctx.defaults, pollIntervalMs: 1500, maxPolls: 4 };
    ctx.sim.setDefaultScript({ statuses: ['pending', 'processing', 'ready'], latencyMs: 300 });
    let busy = false;
    /** Kills now, unless a kill / restart is under way (then the trigger waits for the next chance). */
    const killNow = async (what: string) => {
      if (busy) return false;
      busy = true;
      try {
        await pool.killAll(what);
      } finally {
        busy = false;
      }
      return true;
    };
    /** Waits for the worker to be back from the previous kill, then kills. */
    const kill = async (what: string) => {
      await ctx.waitFor('the worker back', () => !busy && pool.workers.every((w) => w.running), 60_000);
      await killNow(what);
    };
    // 1. During a create request (the API has not acted yet: the request is still in its latency).
    let creates = 0;
    let killedInCreate = false;
    // 3. During the circuit POST, after the API triggered the breaker but before it answered.
    const hangingCircuits = new Set<string>();
    let killedInCircuit = false;
    let armCircuit = false;
    ctx.onRequest((e) => {
      if (e.op === 'create' && ++creates >= 8 && !killedInCreate && !busy) {
        killedInCreate = true;
        void killNow('during a create request (before the API acted)');
      }
      if (
        armCircuit &&
        !killedInCircuit &&
        !busy &&
        e.op === 'circuit' &&
        e.policyId !== null &&
        hangingCircuits.has(e.policyId)
      ) {
        killedInCircuit = true;
        // The API commits after its 300 ms latency, then never answers: kill 1 s in.
        setTimeout(
          () => void killNow('during the circuit POST (breaker triggered, answer not yet sent)'),
          1000,
        );
      }
    });
    const n = ctx.n(60, 8);
    const starts = stream(ctx, n, 2, (i) => {
      const { pid, policy } = policyFor(ctx);
      if (i % 4 === 1) {
        hangingCircuits.add(pid);
        ctx.sim.scriptPolicy(pid, {
          statuses: ['pending', 'processing', 'ready'],
          latencyMs: 300,
          faults: [{ on: 'circuit', kind: 'hang', afterCommit: true }],
        });
      }
      return ctx.start({
        policy,
        expect: COMPLETED,
        label: i % 4 === 1 ? 'circuit answer lost once' : 'plain',
      });
    });
    await ctx.waitFor('the create kill', () => killedInCreate && !busy, 60_000);
    // 2. Between polls: executions are waiting on their poll timers.
    await ctx.waitFor(
      'executions between polls',
      () => ctx.sim.requests().filter((r) => r.op === 'status' && r.responseStatus === 200).length >= 10,
      60_000,
    );
    await ctx.sleep(400);
    await kill('between polls (executions waiting on their poll timers)');
    armCircuit = true;
    await ctx.waitFor('the circuit kill', () => killedInCircuit, 90_000);
    await ctx.sleep(1500); // the kill itself comes 1 s after the request
    await ctx.waitFor('the worker back', () => !busy && pool.workers.every((w) => w.running), 60_000);
    await ctx.sleep(1000);
    // 4. During state writes: another process holds the warehouse, so every state write is waiting
    //    on the file lock when the worker dies.
    const holder = await holdWarehouse(ctx.warehousePath, 8);
    ctx.note('warehouse held by another process for 8 s');
    await ctx.sleep(2500);
    await kill('during state writes (waiting on the warehouse lock)');
    await exited(holder);
    // 5. At random points while executions are still starting.
    for (let i = 0; i < 2; i++) {
      await ctx.sleep(1000 + Math.random() * 4000);
      await kill('at a random point');
    }
    await starts;
  },
};

export const temporalRestart: Scenario = {
  name: 'temporal-restart',
  title:
    'restart the Temporal dev server (persistent database) twice mid-run, gracefully and with SIGKILL: all complete',
  dedicatedTemporal: true,
  processFaults: true,
  settleMs: 240_000,
  async run(ctx) {
    const restart = ctx.env.restartTemporal;
    if (!restart) throw new Error('temporal-restart needs its own dev server');
    await ctx.startWorkers(1);
    ctx.defaults = { ...ctx.defaults, pollIntervalMs: 1000, maxPolls: 4 };
    ctx.sim.setDefaultScript({ statuses: ['pending', 'processing', 'ready'] });
    const starts = stream(ctx, ctx.n(60, 8), 2, () =>
      ctx.start({ ...policyFor(ctx), expect: COMPLETED, label: 'across restarts' }),
    );
    await ctx.sleep(8000);
    await ctx.disrupted('dev server restart (SIGTERM, down 5 s, same database)', () =>
      restart('SIGTERM', 5000),
    );
    await ctx.sleep(8000);
    await ctx.disrupted('dev server restart (SIGKILL, down 5 s, same database)', () =>
      restart('SIGKILL', 5000),
    );
    await starts;
  },
};

export const warehouseBusy: Scenario = {
  name: 'warehouse-busy',
  title:
    'the warehouse file held by another process for 40 s, then by `dbt run`: state writes wait, nothing lost or reordered',
  settleMs: 240_000,
  async run(ctx) {
    await ctx.startWorkers(1);
    ctx.defaults = { ...ctx.defaults, pollIntervalMs: 500 };
    ctx.sim.setDefaultScript({ statuses: ['pending', 'ready'] });
    const starts = stream(ctx, ctx.n(50, 6), 2, () =>
      ctx.start({ ...policyFor(ctx), expect: COMPLETED, label: 'while the file is held' }),
    );
    await ctx.waitFor('the state table', () => ctx.sim.requests().length > 0, 60_000);
    await ctx.sleep(2000);
    const holdSeconds = ctx.n(40, 8);
    const t0 = Date.now();
    const holder = await holdWarehouse(ctx.warehousePath, holdSeconds);
    ctx.note(`warehouse held by a DuckDB connection in another process for ${holdSeconds} s`);
    await exited(holder);
    ctx.metrics.held_ms = Date.now() - t0;
    await starts;
    if (ctx.size === 'full') {
      // A real `dbt run` on the same file while more executions write to it.
      const more = stream(ctx, 10, 2, () =>
        ctx.start({ ...policyFor(ctx), expect: COMPLETED, label: 'during dbt run' }),
      );
      for (let i = 0; i < 2; i++) {
        ctx.note('dbt run on the warehouse file');
        const run = await runDbt(ctx.warehousePath, ctx.env.dir);
        ctx.metrics[`dbt_run_${i + 1}`] =
          run.code === 0 ? `ok in ${run.ms} ms` : `exit ${run.code} in ${run.ms} ms`;
        ctx.scanTexts.push({ where: `dbt run ${i + 1} output`, text: run.output });
      }
      await more;
    }
  },
};
