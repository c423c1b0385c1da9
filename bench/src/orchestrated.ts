/**
 * The measured run: N policyExecution workflows through the real stack, then the model refresh.
 * Timings come from Temporal itself: visibility (start / close of every execution) and the event
 * histories of a sample, which split each execution's end-to-end time into time inside the three API
 * activities and everything else (the orchestration overhead).
 */
import type { Client } from '@temporalio/client';
import { refreshStatusQuery, WORKFLOW_TYPE, type RefreshStatus } from '../../src/contracts';
import type { BenchConfig } from './config';
import type { Stack } from './stack';

export const API_ACTIVITIES = ['createPolicy', 'getPolicyStatus', 'triggerCircuitBreaker'] as const;

export interface ExecutionTiming {
  id: string;
  startMs: number;
  closeMs: number;
  status: string;
}

/** What one execution's history says (all durations in ms). */
export interface HistoryFacts {
  id: string;
  e2eMs: number;
  /** Time inside the three API activities (activity started -> completed, summed). */
  apiMs: number;
  /** e2eMs - apiMs. */
  overheadMs: number;
  events: number;
  workflowTasks: number;
  /** Workflow tasks: scheduled -> started (waiting for a worker slot / poller), summed. */
  wftQueueMs: number;
  /** Workflow tasks: started -> completed (worker ran the workflow code, incl. local activities). */
  wftRunMs: number;
  /** Activity tasks: scheduled -> started, summed over all activities. */
  activityQueueMs: number;
  /** State writes as (remote) activities: started -> completed, summed. */
  stateWriteMs: number;
  /** Refresh ask activity: started -> completed. */
  refreshAskMs: number;
  activities: number;
  /** recordState calls: activities plus local-activity markers. */
  stateWrites: number;
  localActivities: number;
  /** Workflow tasks that timed out (e.g. sticky schedule-to-start: the next task replays from scratch). */
  wftTimeouts: number;
  wftFailures: number;
}

export interface OrchestratedResult {
  /** When the first start request was sent. */
  t0: number;
  startsDoneAt: number;
  /** Client-side latency of the start requests. */
  startLatencyMs: number[];
  executions: ExecutionTiming[];
  histories: HistoryFacts[];
  allClosedObservedAt: number;
  /** When the refresher reported all asks served (observed by query polling). */
  modelFreshObservedAt: number | null;
  refresh: RefreshStatus | null;
  failed: number;
  /** Not all N finished within BENCH_TIMEOUT_MS: the figures cover those that did. */
  timedOut: boolean;
  /** Executions run one at a time after the burst (no queueing): the intrinsic overhead. */
  isolated: HistoryFacts[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Ts {
  seconds?: { toString(): string } | number | null;
  nanos?: number | null;
}
const tsMs = (ts: Ts | null | undefined): number =>
  ts ? Number(ts.seconds?.toString() ?? 0) * 1000 + (ts.nanos ?? 0) / 1e6 : NaN;

export function benchPolicy(id: string): Record<string, unknown> {
  return {
    policy_name: `bench_policy_${id}`,
    policy_type: 'data_governance',
    description: 'Benchmark policy',
    priority: 'high',
    created_by: 'bench',
    expected_policy_id: id,
    parameters: { retention_days: 90, classification: 'sensitive', circuit_breaker_enabled: true },
  };
}

/** Ready on the first poll (the simulator's default status is `success`), no delay between polls. */
export const BENCH_OPTIONS = { pollIntervalMs: 0, maxPolls: 3 };

async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  });
  await Promise.all(lanes);
}

async function startMany(
  client: Client,
  stack: Stack,
  ids: string[],
  concurrency: number,
  options: Record<string, unknown>,
  latencies?: number[],
): Promise<void> {
  await pool(ids, concurrency, async (id) => {
    const t = Date.now();
    await client.workflow.start(WORKFLOW_TYPE, {
      taskQueue: stack.taskQueue,
      workflowId: id,
      args: [benchPolicy(id), { ...BENCH_OPTIONS, ...options }],
    });
    latencies?.push(Date.now() - t);
  });
}

export function parseHistory(id: string, events: readonly Record<string, unknown>[]): HistoryFacts {
  const f: HistoryFacts = {
    id,
    e2eMs: NaN,
    apiMs: 0,
    overheadMs: NaN,
    events: events.length,
    workflowTasks: 0,
    wftQueueMs: 0,
    wftRunMs: 0,
    activityQueueMs: 0,
    stateWriteMs: 0,
    refreshAskMs: 0,
    activities: 0,
    stateWrites: 0,
    localActivities: 0,
    wftTimeouts: 0,
    wftFailures: 0,
  };
  let start = NaN;
  let close = NaN;
  const scheduled = new Map<string, { type: string; at: number }>();
  const started = new Map<string, number>();
  let wftScheduled = NaN;
  let wftStarted = NaN;
  type Attrs = Record<string, unknown> & { scheduledEventId?: { toString(): string } | number };
  for (const ev of events) {
    const t = tsMs(ev.eventTime as Ts);
    const a = (name: string) => ev[name] as Attrs | null | undefined;
    const eventId = String((ev.eventId as { toString(): string } | undefined)?.toString());
    if (a('workflowExecutionStartedEventAttributes')) start = t;
    else if (
      a('workflowExecutionCompletedEventAttributes') ||
      a('workflowExecutionFailedEventAttributes') ||
      a('workflowExecutionTimedOutEventAttributes') ||
      a('workflowExecutionTerminatedEventAttributes')
    )
      close = t;
    else if (a('workflowTaskScheduledEventAttributes')) wftScheduled = t;
    else if (a('workflowTaskStartedEventAttributes')) {
      wftStarted = t;
      f.wftQueueMs += t - wftScheduled;
    } else if (a('workflowTaskCompletedEventAttributes')) {
      f.workflowTasks += 1;
      f.wftRunMs += t - wftStarted;
    } else if (a('workflowTaskTimedOutEventAttributes')) f.wftTimeouts += 1;
    else if (a('workflowTaskFailedEventAttributes')) f.wftFailures += 1;
    else if (a('markerRecordedEventAttributes')) {
      const marker = a('markerRecordedEventAttributes') as {
        markerName?: string;
        details?: Record<string, { payloads?: { data?: Uint8Array | null }[] | null }>;
      };
      if (marker.markerName === 'core_local_activity') {
        f.localActivities += 1;
        // The marker's `data` payload names the activity type.
        const data = marker.details?.data?.payloads?.[0]?.data;
        if (data && Buffer.from(data).toString('utf8').includes('"recordState"')) f.stateWrites += 1;
      }
    } else if (a('activityTaskScheduledEventAttributes')) {
      const attrs = a('activityTaskScheduledEventAttributes') as { activityType?: { name?: string } };
      scheduled.set(eventId, { type: attrs.activityType?.name ?? '?', at: t });
    } else if (a('activityTaskStartedEventAttributes')) {
      const sid = String(a('activityTaskStartedEventAttributes')?.scheduledEventId?.toString());
      started.set(sid, t);
      f.activityQueueMs += t - (scheduled.get(sid)?.at ?? t);
    } else if (a('activityTaskCompletedEventAttributes')) {
      const sid = String(a('activityTaskCompletedEventAttributes')?.scheduledEventId?.toString());
      const type = scheduled.get(sid)?.type ?? '?';
      const ran = t - (started.get(sid) ?? t);
      f.activities += 1;
      if ((API_ACTIVITIES as readonly string[]).includes(type)) f.apiMs += ran;
      else if (type === 'recordState') {
        f.stateWriteMs += ran;
        f.stateWrites += 1;
      } else if (type === 'requestModelRefresh') f.refreshAskMs += ran;
    }
  }
  f.e2eMs = close - start;
  f.overheadMs = f.e2eMs - f.apiMs;
  return f;
}

export async function runOrchestrated(
  client: Client,
  stack: Stack,
  cfg: BenchConfig,
  hooks: { beforeMeasured: () => void },
): Promise<OrchestratedResult> {
  // Warm-up: JIT, connections, caches. Not counted, and no model refresh asks.
  if (cfg.warmup > 0) {
    const ids = Array.from({ length: cfg.warmup }, (_, i) => `bench-${stack.tag}-w-${i}`);
    await startMany(client, stack, ids, cfg.startConcurrency, { refreshModel: false });
    await Promise.all(ids.map((id) => client.workflow.getHandle(id).result()));
  }

  const prefix = `bench-${stack.tag}-m-`;
  const ids = Array.from({ length: cfg.n }, (_, i) => `${prefix}${i}`);
  hooks.beforeMeasured();
  const t0 = Date.now();
  const startLatencyMs: number[] = [];
  await startMany(client, stack, ids, cfg.startConcurrency, {}, startLatencyMs);
  const startsDoneAt = Date.now();

  const deadline = t0 + cfg.runTimeoutMs;
  const base = `WorkflowType = '${WORKFLOW_TYPE}' AND WorkflowId STARTS_WITH '${prefix}'`;
  let timedOut = false;
  for (;;) {
    const closed = await client.workflow.count(`${base} AND ExecutionStatus != 'Running'`);
    if (closed.count >= cfg.n) break;
    if (Date.now() > deadline) {
      // Report what finished in time (the figures say so) rather than nothing.
      console.error(`only ${closed.count} of ${cfg.n} executions finished in ${cfg.runTimeoutMs} ms`);
      timedOut = true;
      break;
    }
    await sleep(250);
  }
  const allClosedObservedAt = Date.now();

  // The model shows every execution once the refresher has served all their asks: each ask is sent
  // after the execution's last state write, so the dbt run that serves it reads that row.
  let refresh: RefreshStatus | null = null;
  let modelFreshObservedAt: number | null = null;
  const refresher = client.workflow.getHandle(stack.refreshWorkflowId);
  const modelDeadline = Date.now() + (timedOut ? 0 : Math.max(120_000, cfg.runTimeoutMs / 2));
  while (Date.now() < modelDeadline) {
    refresh = await refresher.query(refreshStatusQuery).catch(() => null);
    if (refresh && refresh.requestsServed >= cfg.n && refresh.pending === 0) {
      modelFreshObservedAt = Date.now();
      break;
    }
    await sleep(250);
  }

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
  const step = Math.max(1, cfg.n / cfg.historySample);
  const sample: string[] = [];
  const finished = new Set(executions.filter((e) => Number.isFinite(e.closeMs)).map((e) => e.id));
  for (let i = 0; i < cfg.n; i += step) sample.push(ids[Math.floor(i)] as string);
  const histories: HistoryFacts[] = [];
  await pool(
    sample.filter((id) => finished.has(id)),
    8,
    async (id) => {
      const history = await client.workflow.getHandle(id).fetchHistory();
      histories.push(parseHistory(id, (history.events ?? []) as unknown as Record<string, unknown>[]));
    },
  );

  // One at a time, on the now idle stack: what orchestration adds when nothing queues.
  const isolated: HistoryFacts[] = [];
  for (let i = 0; i < (timedOut ? 0 : cfg.isolatedN); i++) {
    const id = `bench-${stack.tag}-i-${i}`;
    await startMany(client, stack, [id], 1, { refreshModel: false });
    await client.workflow.getHandle(id).result();
    const history = await client.workflow.getHandle(id).fetchHistory();
    isolated.push(parseHistory(id, (history.events ?? []) as unknown as Record<string, unknown>[]));
  }

  return {
    isolated,
    t0,
    startsDoneAt,
    startLatencyMs,
    executions,
    histories,
    allClosedObservedAt,
    modelFreshObservedAt,
    refresh,
    failed: executions.filter((e) => Number.isFinite(e.closeMs) && e.status !== 'COMPLETED').length,
    timedOut,
  };
}
