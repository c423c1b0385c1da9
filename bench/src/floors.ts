/**
 * The floors: plain Temporal on the same dev server, worker settings and latency as the project
 * (bench/floor), measured by the same code (burst.ts, analyse-burst.ts):
 *  - temporalFloor: three regular activities that only wait the latency, N at once, then one at a time;
 *  - temporalFloorLocal: the same three as local activities;
 *  - the guide shape's floor: create, three polls with the two durable timers between them, circuit.
 */
import type { Client } from '@temporalio/client';
import type { ReferenceAnalysis } from './analyse-burst';
import type { BurstSpec } from './burst';
import type { BenchConfig } from './config';
import { GUIDE_SHAPE } from './guide';
import { measureBurst } from './measure';
import type { Stack } from './stack';

/** The floor's workflow types (bench/floor/workflows.ts). */
const FLOOR_WORKFLOWS = {
  temporalFloor: 'floorExecution',
  temporalFloorLocal: 'floorExecutionLocal',
  guide: 'floorGuideShape',
} as const;

/** Measured after the project's part, or also before it (bench/src/bracket.ts): its own workflow ids. */
type Phase = 'before' | 'after';
const PHASE_KEY: Record<Phase, string> = { before: 'b', after: '' };

function spec(
  stack: Stack,
  workflowType: string,
  key: string,
  n: number,
  isolatedN: number,
  warmupN: number,
) {
  const prefix = `bench-${stack.tag}-${key}`;
  const none = () => [];
  return {
    workflowType,
    taskQueue: stack.floorTaskQueue,
    warmup: { prefix: `${prefix}-w-`, n: warmupN, args: none },
    measured: { prefix: `${prefix}-m-`, n, args: none },
    isolated: { prefix: `${prefix}-i-`, n: isolatedN, args: none },
  } satisfies BurstSpec;
}

/** temporalFloor or temporalFloorLocal, like the project's run: warm-up, N at once, one at a time. */
export async function runFloor(
  client: Client,
  stack: Stack,
  cfg: BenchConfig,
  kind: 'temporalFloor' | 'temporalFloorLocal',
  phase: Phase = 'after',
): Promise<ReferenceAnalysis> {
  const worker = await stack.startFloorWorker();
  const key = (kind === 'temporalFloor' ? 'f' : 'fl') + PHASE_KEY[phase];
  return measureBurst(
    client,
    stack,
    worker,
    spec(stack, FLOOR_WORKFLOWS[kind], key, cfg.n, cfg.isolatedN, cfg.warmup),
    cfg,
  );
}

/** The guide shape's floor: BENCH_GUIDE_N at once (warm-up without the timers). */
export async function runGuideFloor(
  client: Client,
  stack: Stack,
  cfg: BenchConfig,
  phase: Phase = 'after',
): Promise<ReferenceAnalysis> {
  const worker = await stack.startFloorWorker();
  const key = `fg${PHASE_KEY[phase]}`;
  const { isolated: _none, ...base } = spec(stack, FLOOR_WORKFLOWS.guide, key, cfg.guideN, 0, cfg.warmup);
  const { polls, pollIntervalMs } = GUIDE_SHAPE;
  return measureBurst(
    client,
    stack,
    worker,
    {
      ...base,
      warmup: { ...base.warmup, args: () => [{ polls, pollIntervalMs: 0 }] },
      measured: { ...base.measured, args: () => [{ polls, pollIntervalMs }] },
    },
    cfg,
  );
}
