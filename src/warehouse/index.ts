/**
 * The warehouse: the `Warehouse` contract, the embedded DuckDB adapter and the DDL it shares with
 * the Snowflake adapter and dbt.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DuckDbWarehouse, type DuckDbWarehouseOptions } from './duckdb';

export * from './types';
export * from './ddl';
export * from './duckdb';

/** Default database file, relative to the cwd (design.md §8). */
export const DEFAULT_WAREHOUSE_PATH = '.local/warehouse.duckdb';

/**
 * The DuckDB warehouse at `WAREHOUSE_PATH` (default `.local/warehouse.duckdb`, resolved against the
 * cwd). Creates the parent directory. Does not open the file; call `init()` (or any operation).
 */
export function createWarehouseFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  opts: Omit<DuckDbWarehouseOptions, 'path'> = {},
): DuckDbWarehouse {
  const file = path.resolve(env.WAREHOUSE_PATH?.trim() || DEFAULT_WAREHOUSE_PATH);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  return new DuckDbWarehouse({ ...opts, path: file });
}
