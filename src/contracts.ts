/**
 * Contracts: the names, signals, queries and payload types that workflows, activities, the worker,
 * the CLI and the dispatcher share. One owner for each: everything that crosses a process or a
 * sandbox boundary by name is defined here and imported from here. Safe in the workflow sandbox
 * (no Node built-ins, no I/O).
 */
import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { StateRow } from './policy/state';
import type { ExecutionStatus } from './policy/status';

/** Task queue of the policy workers (POLICY_TASK_QUEUE overrides it). */
export const TASK_QUEUE = 'policy-execution';
/** Workflow type of one policy execution (the guide's three steps). */
export const WORKFLOW_TYPE = 'policyExecution';
/** Workflow type of the long-lived model refresher. */
export const DBT_REFRESH_WORKFLOW_TYPE = 'dbtRefresh';

/** Search attributes the workflow sets; registered on the dev server by the stack and the tests. */
export const SEARCH_ATTRIBUTE_NAMES = {
  policyId: 'PolicyId',
  status: 'PolicyExecutionStatus',
} as const;

export const PolicyIdKey = defineSearchAttributeKey(
  SEARCH_ATTRIBUTE_NAMES.policyId,
  SearchAttributeType.KEYWORD,
);
export const PolicyExecutionStatusKey = defineSearchAttributeKey(
  SEARCH_ATTRIBUTE_NAMES.status,
  SearchAttributeType.KEYWORD,
);

/**
 * Memo field naming how an execution was started; the worker's metrics label executions with it
 * (docs/operations.md). Starts without it (`temporal workflow start`, other clients) count as `other`.
 */
export const TRIGGER_MEMO_KEY = 'trigger';
export type StartTrigger = 'cli' | 'bulk' | 'dispatcher' | 'schedule' | 'client';

/**
 * The search attributes a starter (CLI, dispatcher, schedule, bulk run) sets at start: the status of
 * the first row, so the workflow need not upsert it (one workflow task less; decision 21). A run
 * started without them (`temporal workflow start`) sets it itself.
 */
export const START_SEARCH_ATTRIBUTES: SearchAttributePair[] = [
  { key: PolicyExecutionStatusKey, value: 'pending' satisfies ExecutionStatus },
];

/** Query: an execution's current state row (the same row the warehouse holds). */
export const stateQuery = defineQuery<StateRow>('state');

// --- the model refresher (dbtRefresh) -----------------------------------------------------------

export interface RefreshAsk {
  executionId?: string;
  /** How many asks this signal carries (a worker coalesces its asks); default 1. */
  count?: number;
  /**
   * Set when the worker held this signal back to keep to its ask interval: its next one may follow
   * within this many ms, so the refresher does not yet take the asks as stopped
   * (src/policy/refresh-batch.ts).
   */
  pacedMs?: number;
  /**
   * When the earliest ask this signal carries was made (ms since the epoch, the sender's clock): the
   * refresher counts `maxWaitMs` from it, not from when the signal reached it
   * (src/policy/refresh-batch.ts).
   */
  askedAt?: number;
}

/** One `dbt run --select policy_execution_model` as the refresher saw it. */
export interface RefreshOutcome {
  refreshId: string;
  success: boolean;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  requests: number;
  modelRows: number | null;
  error: string | null;
}

export interface RefreshStatus {
  runs: number;
  failedRuns: number;
  requestsServed: number;
  pending: number;
  last: RefreshOutcome | null;
}

/**
 * Model-refresh defaults, for the environment (src/config.ts), the plugin options and the refresher.
 * `askIntervalMs`: at most one refresh signal per this many ms from one worker. Every signal costs the
 * refresher a workflow task under its workflow lock; with one a second, an overloaded server handed
 * each completion a new task at once, the lock was never free, and the server's own work for the
 * refresher (dispatching its dbt activity, firing its timers) waited 30 s to minutes
 * (docs/performance-log.md, change 16).
 */
export const REFRESH_DEFAULTS = { debounceMs: 1_000, maxWaitMs: 10_000, askIntervalMs: 5_000 } as const;

/**
 * The refresher's workflow task timeout (Temporal's default: 10 s). A workflow task the server
 * records as started but never delivers is retried only when this timeout fires, and the
 * refresher's task queue, idle between asks, is where a busy server loses them
 * (docs/guarantees.md#a-lost-activity-task). Its tasks are small (docs/performance-log.md,
 * change 19).
 */
export const REFRESH_WORKFLOW_TASK_TIMEOUT_MS = 5_000;

/**
 * The refresher's dbt activity heartbeats. An attempt the server records as started but never
 * delivers (docs/guarantees.md#a-lost-activity-task) is retried only when its heartbeat timeout
 * runs out, so that timeout is what such a loss costs a refresh (30 s before
 * docs/performance-log.md's change 25). A short timeout needs beats that reach the server well
 * inside it: the activity beats every `beatMs`, and the dbt worker sends one at least every
 * `throttleMs` (the SDK's throttle would otherwise be 0.8 timeouts, leaving a held-up beat no room),
 * so a running dbt is timed out only after ~`timeoutMs - throttleMs` with no beat recorded.
 */
export const DBT_HEARTBEAT = { timeoutMs: 10_000, beatMs: 1_000, throttleMs: 2_000 } as const;

/**
 * The refresher's Temporal task priority (1 is the highest, 3 the default). It runs on the worker's
 * own task queue, and its workflow tasks must not wait behind a backlog of policy executions': with
 * this key the server's matching hands them out first (docs/design.md, decision 11). Set when an
 * ask starts it; continue-as-new keeps it.
 */
export const REFRESH_PRIORITY_KEY = 1;

export interface DbtRefreshInput {
  /** Task queue of the dbt worker (one activity slot), where the refresher's dbt runs go. */
  dbtTaskQueue: string;
  /** Quiet period after the last ask before dbt runs (REFRESH_DEFAULTS). */
  debounceMs?: number;
  /** Longest wait from the first ask of a batch to its dbt run (REFRESH_DEFAULTS). */
  maxWaitMs?: number;
  /** Pause after a batch whose dbt run failed (all retries), before trying again. Default 30 000. */
  failurePauseMs?: number;
  /** dbt attempts per batch (Temporal retry policy). Default 3. */
  maxAttempts?: number;
  /** Continue-as-new after this many dbt runs. Default 100. */
  runsPerHistory?: number;
  /** Carried over by continue-as-new (`firstAskAt`: when the pending asks' batch began). */
  carried?: { pending: number; status: Omit<RefreshStatus, 'pending'>; firstAskAt?: number | null };
}

export const refreshRequestedSignal = defineSignal<[RefreshAsk?]>('refreshRequested');
export const refreshStatusQuery = defineQuery<RefreshStatus>('refreshStatus');
