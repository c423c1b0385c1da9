/**
 * The guide shape: what the usage guide's callers run. Create, then up to three polls two seconds
 * apart (the project's defaults, DEFAULT_MAX_POLLS and DEFAULT_POLL_INTERVAL_MS), ready on the third
 * (a simulator script per policy), then the circuit breaker; BENCH_GUIDE_N executions at once. Run
 * for the project here and for its floor in floors.ts.
 */
import type { Client } from '@temporalio/client';
import { DEFAULT_MAX_POLLS, DEFAULT_POLL_INTERVAL_MS, READY_STATUSES, WAIT_STATUSES } from '../../src/policy';
import type { ReferenceAnalysis } from './analyse-burst';
import { pool } from './burst';
import type { BenchConfig } from './config';
import { measureBurst } from './measure';
import { OURS, policyArgs } from './orchestrated';
import type { Stack } from './stack';

export const GUIDE_SHAPE = {
  polls: DEFAULT_MAX_POLLS,
  pollIntervalMs: DEFAULT_POLL_INTERVAL_MS,
  /** What the simulator answers to the n-th poll: still processing until the last one. */
  statuses: [
    ...Array.from({ length: DEFAULT_MAX_POLLS - 1 }, () => WAIT_STATUSES[0]),
    READY_STATUSES[0],
  ] as string[],
};

/** Scripts every policy of the guide shape on the simulator (its admin API): ready on the last poll. */
async function scriptPolicies(simulatorUrl: string, ids: string[]): Promise<void> {
  await pool(ids, 20, async (id) => {
    const res = await fetch(`${simulatorUrl}/_sim/policies/${encodeURIComponent(id)}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ statuses: GUIDE_SHAPE.statuses }),
    });
    if (!res.ok) throw new Error(`simulator script for ${id}: HTTP ${res.status} ${await res.text()}`);
  });
}

/** The project in the guide shape, on its worker (started): refresh asks on, as in production. */
export async function runGuideOurs(
  client: Client,
  stack: Stack,
  cfg: BenchConfig,
): Promise<ReferenceAnalysis> {
  const worker = await stack.startWorker();
  const prefix = `bench-${stack.tag}-g-`;
  await scriptPolicies(
    stack.simulatorUrl,
    Array.from({ length: cfg.guideN }, (_, i) => `${prefix}${i}`),
  );
  return measureBurst(
    client,
    stack,
    worker,
    {
      ...OURS,
      taskQueue: stack.taskQueue,
      // Warm-up in the quick shape (ready on the first poll): only the worker's start-up is left out.
      warmup: { prefix: `bench-${stack.tag}-gw-`, n: cfg.warmup, args: policyArgs({ refreshModel: false }) },
      measured: {
        prefix,
        n: cfg.guideN,
        args: policyArgs({ maxPolls: GUIDE_SHAPE.polls, pollIntervalMs: GUIDE_SHAPE.pollIntervalMs }),
      },
    },
    cfg,
  );
}
