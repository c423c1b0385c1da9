/**
 * Which warehouse a process writes (WAREHOUSE=duckdb, the default, or snowflake) and the one place
 * that builds it, for the worker (state writes, dispatcher, reconciler, refresher) and the CLI. Also
 * what the worker's dbt runs need to reach the same warehouse: the profile target and its variables.
 */
import path from 'node:path';
import { DuckDbWarehouse } from './duckdb/warehouse';
import { describeSnowflake, snowflakeDbtEnv, type SnowflakeSettings } from './snowflake/config';
import type { BatchObserver } from './batch-writer';
import type { Warehouse, WarehouseLogger } from './types';

export type WarehouseConfig =
  | { kind: 'duckdb'; /** WAREHOUSE_PATH */ path: string }
  | { kind: 'snowflake'; settings: SnowflakeSettings };

export type WarehouseKind = WarehouseConfig['kind'];

export interface CreateWarehouseOptions {
  /** Who writes (e.g. `worker`, `cli`): in every Snowflake statement's QUERY_TAG. */
  component: string;
  logger?: WarehouseLogger;
  /** Most rows per upsert statement (each adapter has its default). */
  maxBatchRows?: number;
  /** Sees every state write batch (metrics). */
  onBatch?: BatchObserver;
}

/**
 * The adapter for `config`. The Snowflake one is loaded only when asked for: its driver (and the AWS
 * SDK that comes with it) would cost every DuckDB process start-up time and memory.
 */
export async function createWarehouse(
  config: WarehouseConfig,
  opts: CreateWarehouseOptions,
): Promise<Warehouse> {
  const { component, logger, maxBatchRows, onBatch } = opts;
  if (config.kind === 'snowflake') {
    const { SnowflakeWarehouse } = await import('./snowflake/warehouse');
    return new SnowflakeWarehouse({ settings: config.settings, component, logger, maxBatchRows, onBatch });
  }
  return new DuckDbWarehouse({ path: config.path, logger, maxBatchRows, onBatch });
}

/** Where the warehouse is, for logs and messages (no credential). */
export function describeWarehouse(config: WarehouseConfig): string {
  return config.kind === 'snowflake' ? describeSnowflake(config.settings) : `duckdb ${config.path}`;
}

/** The dbt profile target of a warehouse (dbt/profiles.yml) and the variables it reads. */
export function dbtTargetOf(config: WarehouseConfig): {
  target: WarehouseKind;
  warehousePath?: string;
  env: Record<string, string>;
} {
  if (config.kind === 'snowflake') return { target: 'snowflake', env: snowflakeDbtEnv(config.settings) };
  return { target: 'duckdb', warehousePath: path.resolve(config.path), env: {} };
}
