/**
 * The measured run of the project: N policyExecution workflows through the real stack (burst.ts),
 * then the model refresh: the bench waits until the refresher reports every ask served.
 */
import type { Client } from '@temporalio/client';
import {
  refreshStatusQuery,
  START_SEARCH_ATTRIBUTES,
  WORKFLOW_TYPE,
  type RefreshStatus,
} from '../../src/contracts';
import { runBurst, sleep, type BurstResult } from './burst';
import type { BenchConfig } from './config';
import type { Stack } from './stack';

export interface OrchestratedResult extends BurstResult {
  /** When the refresher reported all asks served (observed by query polling). */
  modelFreshObservedAt: number | null;
  refresh: RefreshStatus | null;
  /** When this part ended (isolated executions included): later refreshes belong to other parts. */
  endedAt: number;
}

/**
 * The project's executions, started as its own starters (CLI, dispatcher, schedules, bulk runs) start
 * them: with the first row's status set, so the workflow does not upsert it (docs/design.md, decision
 * 21; docs/performance-log.md, change 17).
 */
export const OURS = { workflowType: WORKFLOW_TYPE, startSearchAttributes: START_SEARCH_ATTRIBUTES };

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

/** Arguments of one policyExecution: the bench policy and the bench options (plus `options`). */
export const policyArgs =
  (options: Record<string, unknown> = {}) =>
  (id: string): unknown[] => [benchPolicy(id), { ...BENCH_OPTIONS, ...options }];

export async function runOrchestrated(
  client: Client,
  stack: Stack,
  cfg: BenchConfig,
  hooks: { beforeMeasured: () => void },
): Promise<OrchestratedResult> {
  let refresh: RefreshStatus | null = null;
  let modelFreshObservedAt: number | null = null;
  // The model shows every execution once the refresher has served all their asks: each ask is sent
  // after the execution's last state write, so the dbt run that serves it reads that row.
  const waitForModel = async (timedOut: boolean) => {
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
  };
  const burst = await runBurst(
    client,
    {
      ...OURS,
      taskQueue: stack.taskQueue,
      // Warm-up: no model refresh asks.
      warmup: { prefix: `bench-${stack.tag}-w-`, n: cfg.warmup, args: policyArgs({ refreshModel: false }) },
      measured: { prefix: `bench-${stack.tag}-m-`, n: cfg.n, args: policyArgs() },
      isolated: {
        prefix: `bench-${stack.tag}-i-`,
        n: cfg.isolatedN,
        args: policyArgs({ refreshModel: false }),
      },
    },
    cfg,
    {
      beforeMeasured: hooks.beforeMeasured,
      afterClosed: waitForModel,
      devServerMetricsUrl: stack.temporal.metricsUrl,
    },
  );
  return { ...burst, refresh, modelFreshObservedAt, endedAt: Date.now() };
}
