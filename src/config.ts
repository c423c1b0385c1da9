/**
 * Process configuration from the environment (worker, CLI). Secrets are read here and go only to the
 * policy API client and the warehouse driver: never into workflow inputs, history, the state table
 * or logs.
 */
import path from 'node:path';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { defaultDbtBin } from './dbt/runner';
import { REFRESH_DEFAULTS, TASK_QUEUE } from './contracts';
import { DEFAULT_DISPATCH_CONCURRENCY } from './dispatcher';
import { DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT_MS } from './policy-api/client';
import type { EndpointProfile } from './policy-api/types';
import type { WarehouseConfig } from './warehouse/factory';
import { snowflakeSettingsFromEnv } from './warehouse/snowflake/config';

export interface WorkerConfig {
  taskQueue: string;
  api: {
    baseUrl: string;
    profile: EndpointProfile;
    token: string | undefined;
    timeoutMs: number;
    maxResponseBytes: number;
  };
  breaker: { threshold: number; halfOpenAfterMs: number };
  /**
   * POLICY_API_MAX_RPS: cap on activity starts per second on the task queue, enforced by the Temporal
   * server across every worker polling it (WorkerOptions.maxTaskQueueActivitiesPerSecond). Every policy
   * API request runs in its own activity, so this also caps API requests per second. Unset = no cap.
   */
  maxApiRequestsPerSecond: number | undefined;
  /** WAREHOUSE (duckdb | snowflake) and its settings: WAREHOUSE_PATH, or the SNOWFLAKE_* variables. */
  warehouse: WarehouseConfig;
  /** Model refresh (the dbtRefresh workflow and the dbt worker); null when DBT_REFRESH=off. */
  dbt: DbtConfig | null;
  /** Pause between passes of the dbt request dispatcher; 0 turns it off. */
  dispatchIntervalMs: number;
  /** Starts the dispatcher keeps in flight at once (DISPATCH_CONCURRENCY). */
  dispatchConcurrency: number;
  /** Pause between passes of the endings reconciler (RECONCILE_INTERVAL_MS); 0 turns it off. */
  reconcileIntervalMs: number;
  /** How far back the reconciler's first pass looks for closed runs (RECONCILE_LOOKBACK_MS). */
  reconcileLookbackMs: number;
}

export interface DbtConfig {
  taskQueue: string;
  workflowId: string;
  projectDir: string;
  dbtBin: string;
  /** dbt's target and log paths for the worker's runs. */
  workDir: string;
  /** The profile target: DBT_TARGET, else the warehouse's (`duckdb` or `snowflake`). */
  target: string | undefined;
  debounceMs: number;
  maxWaitMs: number;
  /** At most one refresh signal per this many ms from one worker (DBT_REFRESH_ASK_INTERVAL_MS). */
  askIntervalMs: number;
  runTimeoutMs: number;
  /** `daemon`: a warm dbt process (default); `cli`: one dbt CLI process per run. */
  mode: 'daemon' | 'cli';
}

/** The repository root (this file is src/config.ts or dist/config.js). */
export const REPO_ROOT = path.resolve(__dirname, '..');

export function intFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`${name} must be a whole number >= ${min}, got '${raw}'`);
  return n;
}

function positiveNumberFromEnv(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a number > 0, got '${raw}'`);
  return n;
}

/** WAREHOUSE=duckdb (default: the file WAREHOUSE_PATH) or snowflake (the SNOWFLAKE_* settings, all checked now). */
export function loadWarehouseConfig(env: NodeJS.ProcessEnv = process.env): WarehouseConfig {
  const kind = (env.WAREHOUSE || 'duckdb').trim().toLowerCase();
  if (kind === 'snowflake') return { kind, settings: snowflakeSettingsFromEnv(env) };
  if (kind !== 'duckdb') throw new Error(`WAREHOUSE must be 'duckdb' or 'snowflake', got '${env.WAREHOUSE}'`);
  return { kind, path: env.WAREHOUSE_PATH || '.local/warehouse.duckdb' };
}

export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const profile = (env.POLICY_API_PROFILE ?? 'policy') as EndpointProfile;
  if (profile !== 'policy' && profile !== 'httpbin') {
    throw new Error(`POLICY_API_PROFILE must be 'policy' or 'httpbin', got '${String(profile)}'`);
  }
  const baseUrl = env.POLICY_API_URL ?? `http://127.0.0.1:${env.SIMULATOR_PORT ?? '8787'}`;
  try {
    new URL(baseUrl);
  } catch {
    throw new Error(`POLICY_API_URL is not a valid URL: '${baseUrl}'`);
  }
  const warehouse = loadWarehouseConfig(env);
  return {
    taskQueue: env.POLICY_TASK_QUEUE ?? TASK_QUEUE,
    api: {
      baseUrl,
      profile,
      token: env.POLICY_API_TOKEN || undefined,
      timeoutMs: intFromEnv(env, 'POLICY_API_TIMEOUT_MS', DEFAULT_TIMEOUT_MS, 1),
      maxResponseBytes: intFromEnv(env, 'POLICY_API_MAX_RESPONSE_BYTES', DEFAULT_MAX_RESPONSE_BYTES, 1),
    },
    breaker: {
      threshold: intFromEnv(env, 'POLICY_API_BREAKER_THRESHOLD', 10),
      halfOpenAfterMs: intFromEnv(env, 'POLICY_API_BREAKER_HALF_OPEN_MS', 5_000, 1),
    },
    maxApiRequestsPerSecond: positiveNumberFromEnv(env, 'POLICY_API_MAX_RPS'),
    warehouse,
    dbt: loadDbtConfig(env, env.POLICY_TASK_QUEUE ?? TASK_QUEUE, warehouse),
    dispatchIntervalMs: intFromEnv(env, 'DISPATCH_INTERVAL_MS', 1_000),
    dispatchConcurrency: intFromEnv(env, 'DISPATCH_CONCURRENCY', DEFAULT_DISPATCH_CONCURRENCY, 1),
    reconcileIntervalMs: intFromEnv(env, 'RECONCILE_INTERVAL_MS', 15_000),
    reconcileLookbackMs: intFromEnv(env, 'RECONCILE_LOOKBACK_MS', 24 * 3_600_000, 1),
  };
}

function loadDbtConfig(
  env: NodeJS.ProcessEnv,
  taskQueue: string,
  warehouse: WarehouseConfig,
): DbtConfig | null {
  const mode = (env.DBT_REFRESH ?? 'on').toLowerCase();
  if (mode === 'off' || mode === 'false' || mode === '0') return null;
  if (mode !== 'on' && mode !== 'true' && mode !== '1')
    throw new Error(`DBT_REFRESH must be 'on' or 'off', got '${env.DBT_REFRESH}'`);
  if (env.DBT_TASK_QUEUE === taskQueue)
    throw new Error(
      `DBT_TASK_QUEUE must differ from the worker's task queue ('${taskQueue}'): the dbt worker runs dbt alone`,
    );
  return {
    taskQueue: env.DBT_TASK_QUEUE || `${taskQueue}-dbt`,
    workflowId: env.DBT_REFRESH_WORKFLOW_ID || 'policy-model-refresh',
    projectDir: path.resolve(env.DBT_PROJECT_DIR || path.join(REPO_ROOT, 'dbt')),
    dbtBin: env.DBT_BIN || defaultDbtBin(REPO_ROOT),
    workDir: path.resolve(env.DBT_WORK_DIR || '.local/dbt-worker'),
    target: env.DBT_TARGET || warehouse.kind,
    debounceMs: intFromEnv(env, 'DBT_REFRESH_DEBOUNCE_MS', REFRESH_DEFAULTS.debounceMs),
    maxWaitMs: intFromEnv(env, 'DBT_REFRESH_MAX_WAIT_MS', REFRESH_DEFAULTS.maxWaitMs),
    askIntervalMs: intFromEnv(env, 'DBT_REFRESH_ASK_INTERVAL_MS', REFRESH_DEFAULTS.askIntervalMs),
    runTimeoutMs: intFromEnv(env, 'DBT_RUN_TIMEOUT_MS', 600_000, 1),
    mode: dbtMode(env.DBT_RUNNER),
  };
}

function dbtMode(raw: string | undefined): 'daemon' | 'cli' {
  const mode = (raw || 'daemon').toLowerCase();
  if (mode !== 'daemon' && mode !== 'cli')
    throw new Error(`DBT_RUNNER must be 'daemon' or 'cli', got '${raw}'`);
  return mode;
}

/** Temporal connection settings: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS, profiles. */
export function loadTemporalConfig() {
  const { connectionOptions, namespace } = loadClientConnectConfig();
  return { connectionOptions, namespace: namespace ?? 'default' };
}
