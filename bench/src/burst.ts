/**
 * One measured burst, the same way for every workflow the bench runs (the project's, the floor's, the
 * guide shape): a warm-up, N started at once, wait until Temporal's visibility shows all closed, then
 * each execution's start and close time (visibility) and the event histories of an even sample, then
 * a few executions one at a time on the idle stack. The figures come from analyse-burst.ts.
 */
import type { Client } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import {
  countersBetween,
  devServerCounters,
  type DevServerCounters,
} from '../../devtools/temporal/server-metrics';
import { API_ACTIVITY_HEARTBEAT } from '../../src/policy/activity-timeouts';
import type { BenchConfig } from './config';
import { parseHistory, type HistoryFacts } from './history';

export interface ExecutionTiming {
  id: string;
  startMs: number;
  closeMs: number;
  status: string;
}

/** Executions of one workflow type: ids are `<prefix><i>`, each started with `args(id)`. */
export interface Batch {
  prefix: string;
  n: number;
  args: (id: string) => unknown[];
}

export interface BurstSpec {
  workflowType: string;
  taskQueue: string;
  /** The measured executions, all started at once. */
  measured: Batch;
  /** Before the measured ones, not counted (JIT, connections, caches). */
  warmup?: Batch;
  /** After the burst, one at a time: what orchestration costs when nothing queues. */
  isolated?: Batch;
  /** Search attributes set at start (the project's: as its own starters set them; the floor's: none). */
  startSearchAttributes?: SearchAttributePair[];
}

export interface BurstResult {
  /** When the first start request was sent. */
  t0: number;
  startsDoneAt: number;
  /** Client-side latency of the start requests. */
  startLatencyMs: number[];
  executions: ExecutionTiming[];
  histories: HistoryFacts[];
  allClosedObservedAt: number;
  failed: number;
  /** Not all N finished within BENCH_TIMEOUT_MS: the figures cover those that did. */
  timedOut: boolean;
  isolated: HistoryFacts[];
  /**
   * What moved in the dev server's counters from the first measured start to the last close: its
   * persistence requests by operation, its history tasks by type.
   */
  devServer: DevServerCounters | null;
}

/**
 * After the last close, how long a burst waits before the next part of the bench starts: until every
 * measured activity's timeout timer has fired (the server keeps one per activity, its earliest
 * timeout: the heartbeat timeout, 20 s after the activity's start, for the project's activities and
 * the floor's alike). Without it one part's timers fired during the next part's run, whose dev server
 * CPU and throughput paid for them (docs/performance-log.md, change 31).
 */
export const SETTLE_MS = API_ACTIVITY_HEARTBEAT.timeoutMs + 1_000;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  });
  await Promise.all(lanes);
}

const idsOf = (b: Batch) => Array.from({ length: b.n }, (_, i) => `${b.prefix}${i}`);

async function startMany(
  client: Client,
  spec: BurstSpec,
  batch: Batch,
  ids: string[],
  concurrency: number,
  latencies?: number[],
): Promise<void> {
  await pool(ids, concurrency, async (id) => {
    const t = Date.now();
    await client.workflow.start(spec.workflowType, {
      taskQueue: spec.taskQueue,
      workflowId: id,
      args: batch.args(id),
      ...(spec.startSearchAttributes ? { typedSearchAttributes: spec.startSearchAttributes } : {}),
    });
    latencies?.push(Date.now() - t);
  });
}

async function history(client: Client, id: string): Promise<HistoryFacts> {
  const h = await client.workflow.getHandle(id).fetchHistory();
  return parseHistory(id, (h.events ?? []) as unknown as Record<string, unknown>[]);
}

export async function runBurst(
  client: Client,
  spec: BurstSpec,
  cfg: BenchConfig,
  hooks: {
    /** Just before the first measured start (e.g. start sampling the processes). */
    beforeMeasured?: () => void;
    /** Once all measured executions have closed (or the wait timed out), before they are read. */
    afterClosed?: (timedOut: boolean) => Promise<void>;
    /** The dev server's metrics (DevServer.metricsUrl): its persistence requests and history tasks are counted. */
    devServerMetricsUrl?: string;
  } = {},
): Promise<BurstResult> {
  if (spec.warmup && spec.warmup.n > 0) {
    const ids = idsOf(spec.warmup);
    await startMany(client, spec, spec.warmup, ids, cfg.startConcurrency);
    await Promise.all(ids.map((id) => client.workflow.getHandle(id).result()));
  }

  const { measured } = spec;
  const ids = idsOf(measured);
  const readCounters = (): Promise<DevServerCounters | null> =>
    hooks.devServerMetricsUrl
      ? devServerCounters(hooks.devServerMetricsUrl).catch(() => null)
      : Promise.resolve(null);
  const countersBefore = await readCounters();
  hooks.beforeMeasured?.();
  const t0 = Date.now();
  const startLatencyMs: number[] = [];
  await startMany(client, spec, measured, ids, cfg.startConcurrency, startLatencyMs);
  const startsDoneAt = Date.now();

  const deadline = t0 + cfg.runTimeoutMs;
  const base = `WorkflowType = '${spec.workflowType}' AND WorkflowId STARTS_WITH '${measured.prefix}'`;
  let timedOut = false;
  for (;;) {
    const closed = await client.workflow.count(`${base} AND ExecutionStatus != 'Running'`);
    if (closed.count >= measured.n) break;
    if (Date.now() > deadline) {
      // Report what finished in time (the figures say so) rather than nothing.
      console.error(
        `only ${closed.count} of ${measured.n} ${spec.workflowType} finished in ${cfg.runTimeoutMs} ms`,
      );
      timedOut = true;
      break;
    }
    await sleep(250);
  }
  const allClosedObservedAt = Date.now();
  const countersAfter = await readCounters();
  await hooks.afterClosed?.(timedOut);

  const executions: ExecutionTiming[] = [];
  for await (const wf of client.workflow.list({ query: base, pageSize: 1000 })) {
    executions.push({
      id: wf.workflowId,
      startMs: wf.startTime.getTime(),
      closeMs: wf.closeTime?.getTime() ?? NaN,
      status: wf.status.name,
    });
  }

  // Histories of an evenly spread sample (all of them when N <= BENCH_HISTORY_SAMPLE).
  const step = Math.max(1, measured.n / cfg.historySample);
  const finished = new Set(executions.filter((e) => Number.isFinite(e.closeMs)).map((e) => e.id));
  const sample: string[] = [];
  for (let i = 0; i < measured.n; i += step) sample.push(ids[Math.floor(i)] as string);
  const histories: HistoryFacts[] = [];
  await pool(
    sample.filter((id) => finished.has(id)),
    8,
    async (id) => void histories.push(await history(client, id)),
  );

  const isolated: HistoryFacts[] = [];
  if (spec.isolated && !timedOut) {
    for (const id of idsOf(spec.isolated)) {
      await startMany(client, spec, spec.isolated, [id], 1);
      await client.workflow.getHandle(id).result();
      isolated.push(await history(client, id));
    }
  }

  // Local activities leave no timers on the server: nothing to wait for then.
  if (histories.some((h) => h.activities > 0))
    await sleep(Math.max(0, allClosedObservedAt + SETTLE_MS - Date.now()));

  return {
    t0,
    startsDoneAt,
    startLatencyMs,
    executions,
    histories,
    allClosedObservedAt,
    failed: executions.filter((e) => Number.isFinite(e.closeMs) && e.status !== 'COMPLETED').length,
    timedOut,
    isolated,
    devServer: countersBefore && countersAfter ? countersBetween(countersBefore, countersAfter) : null,
  };
}
