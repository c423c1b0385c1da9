/**
 * Process configuration from the environment (worker, CLI). Secrets are read here and go only to the
 * policy API client: never into workflow inputs, history, the state table or logs.
 */
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { TASK_QUEUE } from './policy/keys';
import type { EndpointProfile } from './policy-api/types';

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
  warehousePath: string;
}

function intFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`${name} must be a whole number >= ${min}, got '${raw}'`);
  return n;
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
  return {
    taskQueue: env.POLICY_TASK_QUEUE ?? TASK_QUEUE,
    api: {
      baseUrl,
      profile,
      token: env.POLICY_API_TOKEN || undefined,
      timeoutMs: intFromEnv(env, 'POLICY_API_TIMEOUT_MS', 30_000, 1),
      maxResponseBytes: intFromEnv(env, 'POLICY_API_MAX_RESPONSE_BYTES', 1024 * 1024, 1),
    },
    breaker: {
      threshold: intFromEnv(env, 'POLICY_API_BREAKER_THRESHOLD', 10),
      halfOpenAfterMs: intFromEnv(env, 'POLICY_API_BREAKER_HALF_OPEN_MS', 5_000, 1),
    },
    warehousePath: env.WAREHOUSE_PATH ?? '.local/warehouse.duckdb',
  };
}

/** Temporal connection settings: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS, profiles. */
export function loadTemporalConfig() {
  const { connectionOptions, namespace } = loadClientConnectConfig();
  return { connectionOptions, namespace: namespace ?? 'default' };
}
