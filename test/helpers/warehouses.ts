/**
 * The warehouses tests run against, each a real one: a DuckDB file in a temp directory, or a fresh
 * schema on Snowflake: the Snowflake emulator (devtools/snowflake-emulator, one per test file,
 * started on first use) or, with SNOWFLAKE_LIVE=1 (`make test-snowflake-live`), the real account of
 * the SNOWFLAKE_* variables (a schema of its own per warehouse, dropped afterwards).
 *
 *   const warehouses = useWarehouses();               // at the top of a test file
 *   describe.each(TEST_WAREHOUSES)('%s', (kind) => { ... const w = await warehouses.create(kind); ... });
 *
 * TEST_WAREHOUSES=snowflake (or duckdb) runs one kind only. Adapters are built directly (the
 * product's factory, src/warehouse/factory.ts, loads the Snowflake one lazily and so is async).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import snowflake from 'snowflake-sdk';
import { afterAll } from 'vitest';
import { startSnowflakeEmulator, type SnowflakeEmulator } from '../../devtools/snowflake-emulator/launch';
import { withDuckDb } from '../../src/warehouse/duckdb/connection';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/warehouse';
import type { BatchObserver } from '../../src/warehouse/batch-writer';
import type { WarehouseConfig, WarehouseKind } from '../../src/warehouse/factory';
import type { BindValue } from '../../src/warehouse/rows';
import {
  connectionOptions,
  snowflakeDbtEnv,
  snowflakeSettingsFromEnv,
  type SnowflakeSettings,
} from '../../src/warehouse/snowflake/config';
import { SnowflakeWarehouse } from '../../src/warehouse/snowflake/warehouse';
import type { Warehouse, WarehouseLogger } from '../../src/warehouse/types';

export type { WarehouseKind };

/** The kinds this run tests (TEST_WAREHOUSES, default both). */
export const TEST_WAREHOUSES: WarehouseKind[] = (process.env.TEST_WAREHOUSES ?? 'duckdb,snowflake')
  .split(',')
  .map((k) => k.trim())
  .filter((k): k is WarehouseKind => k === 'duckdb' || k === 'snowflake');

/** True when the Snowflake tests run against a real account (make test-snowflake-live). */
export const SNOWFLAKE_LIVE = process.env.SNOWFLAKE_LIVE === '1';

export interface TestWarehouse {
  kind: WarehouseKind;
  config: WarehouseConfig;
  /** The variables a hand-started dbt needs to reach this warehouse, DBT_TARGET included. */
  dbtEnv: Record<string, string>;
  /** A new adapter on this warehouse. */
  open(opts?: {
    maxBatchRows?: number;
    component?: string;
    logger?: WarehouseLogger;
    onBatch?: BatchObserver;
  }): Warehouse;
  /**
   * SQL straight to the warehouse, not through the adapter (rows as arrays); unqualified names are
   * this warehouse's tables. Write the SQL both dialects read the same way.
   */
  query(sql: string, binds?: BindValue[]): Promise<unknown[][]>;
  dispose(): Promise<void>;
}

export interface Warehouses {
  create(kind: WarehouseKind): Promise<TestWarehouse>;
  /** The file's emulator (started on first use; undefined when live). */
  emulator(): Promise<SnowflakeEmulator | undefined>;
}

let schemaCounter = 0;

/** Registers the file's clean-up; call at the top level of a test file. */
export function useWarehouses(): Warehouses {
  let emulator: Promise<SnowflakeEmulator> | undefined;
  const created: TestWarehouse[] = [];
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warehouses-'));
  afterAll(async () => {
    await Promise.allSettled(created.map((w) => w.dispose()));
    if (emulator) await (await emulator).stop();
    fs.rmSync(tmpDir, { recursive: true, force: true });
  });
  const getEmulator = async () => {
    if (SNOWFLAKE_LIVE) return undefined;
    emulator ??= startSnowflakeEmulator();
    return emulator;
  };
  return {
    emulator: getEmulator,
    async create(kind) {
      const w =
        kind === 'duckdb'
          ? duckDbTestWarehouse(path.join(tmpDir, `wh-${++schemaCounter}.duckdb`))
          : await snowflakeWarehouse(await getEmulator());
      created.push(w);
      return w;
    },
  };
}

/** A DuckDB warehouse in `file` (created on first use). */
export function duckDbTestWarehouse(file: string): TestWarehouse {
  const config: WarehouseConfig = { kind: 'duckdb', path: file };
  return {
    kind: 'duckdb',
    config,
    dbtEnv: { DBT_TARGET: 'duckdb', WAREHOUSE_PATH: file },
    open: (opts = {}) =>
      new DuckDbWarehouse({
        path: file,
        logger: opts.logger,
        maxBatchRows: opts.maxBatchRows,
        onBatch: opts.onBatch,
      }),
    query: (sql, binds = []) =>
      withDuckDb(file, async (c) => (await c.runAndReadAll(sql, binds)).getRows() as unknown[][], {
        transaction: false,
      }),
    dispose: () => Promise.resolve(),
  };
}

/** The settings of a Snowflake warehouse on the emulator (any credentials) or on the live account. */
export function snowflakeTestSettings(
  emulator: SnowflakeEmulator | undefined,
  schema: string,
  extra: Record<string, string> = {},
): SnowflakeSettings {
  if (!emulator) return snowflakeSettingsFromEnv({ ...process.env, SNOWFLAKE_SCHEMA: schema, ...extra });
  return snowflakeSettingsFromEnv({
    ...emulator.env,
    SNOWFLAKE_ACCOUNT: 'emulator',
    SNOWFLAKE_USER: 'policy_worker',
    SNOWFLAKE_PASSWORD: 'emulator-password',
    SNOWFLAKE_ROLE: 'POLICY_EXECUTION',
    SNOWFLAKE_WAREHOUSE: 'POLICY_WH',
    SNOWFLAKE_DATABASE: 'POLICY_TEST',
    SNOWFLAKE_SCHEMA: schema,
    ...extra,
  });
}

async function snowflakeWarehouse(emulator: SnowflakeEmulator | undefined): Promise<TestWarehouse> {
  const base = SNOWFLAKE_LIVE ? (process.env.SNOWFLAKE_SCHEMA ?? 'PUBLIC').toUpperCase() : 'T';
  const schema = `${base}_${process.pid}_${Date.now().toString(36)}_${++schemaCounter}`.toUpperCase();
  const settings = snowflakeTestSettings(emulator, schema);
  const raw = await connect(settings);
  // The emulator creates the login's schema; a real account needs it created (and dropped after).
  if (SNOWFLAKE_LIVE) await run(raw, `CREATE SCHEMA IF NOT EXISTS ${settings.database}.${schema}`);
  const config: WarehouseConfig = { kind: 'snowflake', settings };
  return {
    kind: 'snowflake',
    config,
    dbtEnv: { DBT_TARGET: 'snowflake', ...snowflakeDbtEnv(settings) },
    open: (opts = {}) =>
      new SnowflakeWarehouse({
        settings,
        component: opts.component ?? 'test',
        logger: opts.logger,
        maxBatchRows: opts.maxBatchRows,
        onBatch: opts.onBatch,
      }),
    query: (sql, binds = []) => run(raw, sql, binds),
    async dispose() {
      if (SNOWFLAKE_LIVE)
        await run(raw, `DROP SCHEMA IF EXISTS ${settings.database}.${schema}`).catch(() => []);
      await new Promise<void>((resolve) => raw.destroy(() => resolve()));
    },
  };
}

function connect(settings: SnowflakeSettings): Promise<snowflake.Connection> {
  const connection = snowflake.createConnection(connectionOptions(settings, 'test-probe'));
  return new Promise((resolve, reject) => connection.connect((err, c) => (err ? reject(err) : resolve(c))));
}

function run(
  connection: snowflake.Connection,
  sqlText: string,
  binds: BindValue[] = [],
): Promise<unknown[][]> {
  return new Promise((resolve, reject) =>
    connection.execute({
      sqlText,
      binds,
      rowMode: 'array',
      complete: (err, _stmt, rows) => (err ? reject(err) : resolve((rows ?? []) as unknown[][])),
    }),
  );
}

/** INSERT of one request row (request_id, policy JSON, options JSON, requested_at, requested_by, status) as dbt writes it. */
export function insertRequestSql(kind: WarehouseKind): string {
  const cols = 'request_id, policy, options, requested_at, requested_by, status';
  return kind === 'duckdb'
    ? `INSERT INTO policy_execution_requests (${cols}) SELECT ?, CAST(? AS JSON), CAST(? AS JSON), CAST(? AS TIMESTAMP), ?, ?`
    : `INSERT INTO policy_execution_requests (${cols}) SELECT ?, PARSE_JSON(?), PARSE_JSON(?), TO_TIMESTAMP_NTZ(?), ?, ?`;
}
