/**
 * The plugin's options (what a user configures) and their defaults, resolved once against the task
 * queue of the worker the plugin is added to: the policy API, the warehouse, the breaker, the model
 * refresh and its dbt worker, and the worker-process loops (request dispatcher, endings reconciler).
 * The defaults are the worker's own (docs/configuration.md).
 */
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { DEFAULT_BREAKER, type BreakerOptions } from '../activities';
import { REPO_ROOT } from '../config';
import { REFRESH_DEFAULTS } from '../contracts';
import { defaultDbtBin } from '../dbt/runner';
import { DEFAULT_DISPATCH_CONCURRENCY } from '../dispatcher';
import { DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT_MS } from '../policy-api/client';
import type { EndpointProfile } from '../policy-api/types';
import { apiTimeoutProblem } from '../policy/input';
import type { WarehouseConfig } from '../warehouse/factory';

export interface PolicyApiOptions {
  /** Base URL of the policy API (may include a path prefix), e.g. `https://policy.example.com`. */
  url: string;
  /** `policy` (default): the three endpoints; `httpbin`: the usage guide's httpbin stand-ins. */
  profile?: EndpointProfile;
  /** Bearer token. It goes to the API client only: never into workflow input, history, the table or logs. */
  token?: string;
  /** Per-request deadline (connect, headers and body). Default 30 000. */
  timeoutMs?: number;
  /** Response body size cap. Default 1 MiB. */
  maxResponseBytes?: number;
}

/** The dbt worker: runs `dbt run --select policy_execution_model` for the refresher, one run at a time. */
export interface DbtWorkerOptions {
  /** The dbt project to run: yours, with the dbt package installed (docs/dbt-package.md). Default: the package's own `dbt/`. */
  projectDir?: string;
  /** Where its profiles.yml is. Default: `projectDir`. */
  profilesDir?: string;
  /** The dbt executable. Default: `dbt` on PATH. */
  dbtBin?: string;
  /** dbt's target and log paths for these runs. Default `.local/dbt-worker` (from the working directory). */
  workDir?: string;
  /** The profile's target (passed as DBT_TARGET). Default: the warehouse's kind (`duckdb` or `snowflake`). */
  target?: string;
  /** Kill a dbt run after this long. Default 600 000. */
  runTimeoutMs?: number;
  /** `daemon` (default): a warm dbt process; `cli`: one dbt process per run. */
  mode?: 'daemon' | 'cli';
}

/** Model refresh: terminal executions ask the refresher (the `dbtRefresh` workflow) for a dbt run. */
export interface ModelRefreshOptions {
  /** The refresher's workflow id (one per warehouse). Default `policy-model-refresh`. */
  workflowId?: string;
  /**
   * The dbt task queue: the dbt worker's, where the refresher's dbt runs go. Default `<the worker's
   * task queue>-dbt`. The refresher itself runs on the worker's task queue.
   */
  taskQueue?: string;
  /** Quiet period after the last ask before dbt runs. Default 1000. */
  debounceMs?: number;
  /** Longest wait from the first ask of a batch to its dbt run. Default 10 000. */
  maxWaitMs?: number;
  /** At most one refresh signal per this many ms from this worker. Default 5000. */
  askIntervalMs?: number;
  /** Run the dbt worker in this process (default), or `false` when another process runs it. */
  dbtWorker?: DbtWorkerOptions | false;
}

export interface PluginLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface PolicyExecutionPluginOptions {
  policyApi: PolicyApiOptions;
  /** Where the state rows go: `{ kind: 'duckdb', path }` or `{ kind: 'snowflake', settings }`. */
  warehouse: WarehouseConfig;
  /** The circuit breaker in front of the policy API (threshold 0 turns it off). Default 10 failures, 5 s. */
  breaker?: BreakerOptions;
  /**
   * Cap on activity starts per second on the worker's task queue, enforced by the Temporal server
   * across every worker of the queue (your activities on that queue count too). Unset: no cap.
   */
  maxApiRequestsPerSecond?: number;
  /** Default on, with the dbt worker in this process; `false`: no refresh asks, no dbt worker. */
  modelRefresh?: ModelRefreshOptions | false;
  /**
   * Starts the executions dbt queued (policy_execution_requests). Default every 1000 ms, up to
   * DEFAULT_DISPATCH_CONCURRENCY (2) starts in flight at once; `false`: off.
   */
  dispatcher?: { intervalMs?: number; concurrency?: number } | false;
  /** Writes the endings Temporal decided (terminate, timeouts). Default every 15 000 ms, 24 h back; `false`: off. */
  reconciler?: { intervalMs?: number; lookbackMs?: number } | false;
  /** The client the refresh asks, the dispatcher and the reconciler use. Default: the worker's own (`worker.client`). */
  client?: Client;
  /** Default: the console. */
  logger?: PluginLogger;
  /** Called once the worker is about to poll, with a one-line summary. Default: logged as `policy-execution ready: ...`. */
  onReady?: (summary: string) => void;
  /**
   * Where the plugin writes the entry module that combines your workflowsPath with its workflows.
   * Default: `node_modules/.cache/policy-execution` next to the installed `@temporalio/workflow`.
   */
  workflowsEntryDir?: string;
}

export interface RefreshSettings {
  workflowId: string;
  /** The dbt task queue (the dbt worker's). */
  taskQueue: string;
  /** Where the refresher workflow runs: the worker's own task queue, at REFRESH_PRIORITY_KEY. */
  refresherTaskQueue: string;
  debounceMs: number;
  maxWaitMs: number;
  askIntervalMs: number;
}

export interface DbtRunSettings {
  projectDir: string;
  profilesDir?: string;
  dbtBin: string;
  workDir: string;
  target: string | undefined;
  runTimeoutMs: number;
  mode: 'daemon' | 'cli';
}

export interface ResolvedOptions {
  /** The worker's task queue: the one the dispatcher starts executions on. */
  taskQueue: string;
  api: Required<Omit<PolicyApiOptions, 'token' | 'url'>> & { baseUrl: string; token: string | undefined };
  warehouse: WarehouseConfig;
  breaker: BreakerOptions;
  maxApiRequestsPerSecond: number | undefined;
  refresh: RefreshSettings | null;
  dbtWorker: DbtRunSettings | null;
  dispatchIntervalMs: number;
  dispatchConcurrency: number;
  reconcile: { intervalMs: number; lookbackMs: number } | null;
}

function wholeNumber(name: string, value: number | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min)
    throw new TypeError(`policy-execution plugin: ${name} must be a whole number >= ${min}, got ${value}`);
  return value;
}

/** Every option with its default, for the worker polling `taskQueue`. Throws a TypeError naming a bad option. */
export function resolveOptions(options: PolicyExecutionPluginOptions, taskQueue: string): ResolvedOptions {
  const { policyApi } = options;
  try {
    new URL(policyApi.url);
  } catch {
    throw new TypeError(`policy-execution plugin: policyApi.url is not a valid URL: '${policyApi.url}'`);
  }
  const profile = policyApi.profile ?? 'policy';
  if (profile !== 'policy' && profile !== 'httpbin')
    throw new TypeError(
      `policy-execution plugin: policyApi.profile must be 'policy' or 'httpbin', got '${String(profile)}'`,
    );
  const rps = options.maxApiRequestsPerSecond;
  if (rps !== undefined && !(Number.isFinite(rps) && rps > 0))
    throw new TypeError(`policy-execution plugin: maxApiRequestsPerSecond must be a number > 0, got ${rps}`);
  const timeoutMs = wholeNumber('policyApi.timeoutMs', policyApi.timeoutMs, DEFAULT_TIMEOUT_MS, 1);
  const timeoutProblem = apiTimeoutProblem(timeoutMs);
  if (timeoutProblem) throw new TypeError(`policy-execution plugin: policyApi.timeoutMs ${timeoutProblem}`);
  const breaker = options.breaker ?? DEFAULT_BREAKER;
  const refresh = options.modelRefresh === false ? null : (options.modelRefresh ?? {});
  const dbt = refresh === null || refresh.dbtWorker === false ? null : (refresh.dbtWorker ?? {});
  if (dbt?.mode !== undefined && dbt.mode !== 'daemon' && dbt.mode !== 'cli')
    throw new TypeError(
      `policy-execution plugin: modelRefresh.dbtWorker.mode must be 'daemon' or 'cli', got '${String(dbt.mode)}'`,
    );
  // The dbt worker runs the dbt activity alone: on the worker's own queue it would take policy tasks.
  if (refresh?.taskQueue === taskQueue)
    throw new TypeError(
      `policy-execution plugin: modelRefresh.taskQueue must differ from the worker's task queue ('${taskQueue}')`,
    );
  return {
    taskQueue,
    api: {
      baseUrl: policyApi.url,
      profile,
      token: policyApi.token || undefined,
      timeoutMs,
      maxResponseBytes: wholeNumber(
        'policyApi.maxResponseBytes',
        policyApi.maxResponseBytes,
        DEFAULT_MAX_RESPONSE_BYTES,
        1,
      ),
    },
    warehouse: options.warehouse,
    breaker: {
      threshold: wholeNumber('breaker.threshold', breaker.threshold, DEFAULT_BREAKER.threshold),
      halfOpenAfterMs: wholeNumber(
        'breaker.halfOpenAfterMs',
        breaker.halfOpenAfterMs,
        DEFAULT_BREAKER.halfOpenAfterMs,
        1,
      ),
    },
    maxApiRequestsPerSecond: rps,
    refresh: refresh && {
      workflowId: refresh.workflowId || 'policy-model-refresh',
      taskQueue: refresh.taskQueue || `${taskQueue}-dbt`,
      refresherTaskQueue: taskQueue,
      debounceMs: wholeNumber('modelRefresh.debounceMs', refresh.debounceMs, REFRESH_DEFAULTS.debounceMs),
      maxWaitMs: wholeNumber('modelRefresh.maxWaitMs', refresh.maxWaitMs, REFRESH_DEFAULTS.maxWaitMs),
      askIntervalMs: wholeNumber(
        'modelRefresh.askIntervalMs',
        refresh.askIntervalMs,
        REFRESH_DEFAULTS.askIntervalMs,
      ),
    },
    dbtWorker: dbt && {
      projectDir: path.resolve(dbt.projectDir ?? path.join(REPO_ROOT, 'dbt')),
      ...(dbt.profilesDir ? { profilesDir: path.resolve(dbt.profilesDir) } : {}),
      dbtBin: dbt.dbtBin || defaultDbtBin(REPO_ROOT),
      workDir: path.resolve(dbt.workDir ?? '.local/dbt-worker'),
      target: dbt.target || options.warehouse.kind,
      runTimeoutMs: wholeNumber('modelRefresh.dbtWorker.runTimeoutMs', dbt.runTimeoutMs, 600_000, 1),
      mode: dbt.mode ?? 'daemon',
    },
    dispatchIntervalMs:
      options.dispatcher === false
        ? 0
        : wholeNumber('dispatcher.intervalMs', options.dispatcher?.intervalMs, 1_000),
    dispatchConcurrency: wholeNumber(
      'dispatcher.concurrency',
      options.dispatcher ? options.dispatcher.concurrency : undefined,
      DEFAULT_DISPATCH_CONCURRENCY,
      1,
    ),
    reconcile:
      options.reconciler === false
        ? null
        : {
            intervalMs: wholeNumber('reconciler.intervalMs', options.reconciler?.intervalMs, 15_000, 1),
            lookbackMs: wholeNumber(
              'reconciler.lookbackMs',
              options.reconciler?.lookbackMs,
              24 * 3_600_000,
              1,
            ),
          },
  };
}
