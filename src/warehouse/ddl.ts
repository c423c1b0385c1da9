/**
 * DDL for the warehouse tables, kept as plain strings so the Snowflake adapter, the dbt sources and
 * the docs can mirror them. The first 16 columns of policy_execution_state are the usage guide's
 * schema (same names, same meanings); the last three are ours (design.md §1).
 *
 * Timestamps are naive UTC (Snowflake TIMESTAMP_NTZ = DuckDB TIMESTAMP). The guide's VARIANT
 * columns are DuckDB JSON.
 */
import type { StateRow } from '../policy/state';

export const STATE_TABLE = 'policy_execution_state';

/** DuckDB type of every state column, in STATE_COLUMNS order; used for the `?::TYPE` casts on upsert. */
export const DUCKDB_STATE_COLUMN_TYPES = {
  execution_id: 'VARCHAR',
  policy_id: 'VARCHAR',
  poll_count: 'INTEGER',
  status: 'VARCHAR',
  start_time: 'TIMESTAMP',
  last_poll_time: 'TIMESTAMP',
  completed: 'BOOLEAN',
  requires_circuit_breaker: 'BOOLEAN',
  circuit_breaker_initiated: 'BOOLEAN',
  circuit_breaker_completed: 'BOOLEAN',
  error_message: 'VARCHAR',
  message: 'VARCHAR',
  api_response: 'JSON',
  policy_data: 'JSON',
  policy_status_response: 'JSON',
  circuit_breaker_response: 'JSON',
  workflow_id: 'VARCHAR',
  state_version: 'INTEGER',
  updated_at: 'TIMESTAMP',
} as const satisfies Record<keyof StateRow, 'VARCHAR' | 'INTEGER' | 'TIMESTAMP' | 'BOOLEAN' | 'JSON'>;

/**
 * DuckDB. `current_timestamp` is a TIMESTAMPTZ; converting it `AT TIME ZONE 'UTC'` makes the default
 * naive UTC whatever the session's TimeZone setting is (a plain cast would use the session zone).
 */
export const DUCKDB_STATE_DDL = `CREATE TABLE IF NOT EXISTS policy_execution_state (
    execution_id VARCHAR PRIMARY KEY,
    policy_id VARCHAR,
    poll_count INTEGER DEFAULT 0,
    status VARCHAR DEFAULT 'pending',
    start_time TIMESTAMP DEFAULT (current_timestamp AT TIME ZONE 'UTC'),
    last_poll_time TIMESTAMP,
    completed BOOLEAN DEFAULT FALSE,
    requires_circuit_breaker BOOLEAN DEFAULT FALSE,
    circuit_breaker_initiated BOOLEAN DEFAULT FALSE,
    circuit_breaker_completed BOOLEAN DEFAULT FALSE,
    error_message VARCHAR,
    message VARCHAR,
    api_response JSON,
    policy_data JSON,
    policy_status_response JSON,
    circuit_breaker_response JSON,
    workflow_id VARCHAR,
    state_version INTEGER NOT NULL,
    updated_at TIMESTAMP
)`;

/**
 * Snowflake, for documentation and the Snowflake adapter. Snowflake does not enforce PRIMARY KEY;
 * the adapter's `MERGE ... WHEN MATCHED AND source.state_version > target.state_version` provides
 * the same version-guarded upsert. Writers always supply start_time in UTC; the default is the
 * guide's.
 */
export const SNOWFLAKE_STATE_DDL = `CREATE TABLE IF NOT EXISTS policy_execution_state (
    execution_id VARCHAR PRIMARY KEY,
    policy_id VARCHAR,
    poll_count NUMBER DEFAULT 0,
    status VARCHAR DEFAULT 'pending',
    start_time TIMESTAMP_NTZ DEFAULT CURRENT_TIMESTAMP(),
    last_poll_time TIMESTAMP_NTZ,
    completed BOOLEAN DEFAULT FALSE,
    requires_circuit_breaker BOOLEAN DEFAULT FALSE,
    circuit_breaker_initiated BOOLEAN DEFAULT FALSE,
    circuit_breaker_completed BOOLEAN DEFAULT FALSE,
    error_message VARCHAR,
    message VARCHAR,
    api_response VARIANT,
    policy_data VARIANT,
    policy_status_response VARIANT,
    circuit_breaker_response VARIANT,
    workflow_id VARCHAR,
    state_version NUMBER NOT NULL,
    updated_at TIMESTAMP_NTZ
)`;

export const REQUESTS_TABLE = 'policy_execution_requests';
export const REFRESH_LOG_TABLE = 'policy_model_refresh_log';

/**
 * Execution requests made from dbt (`dbt run-operation run_policy_workflow`, `policy_execution(...)`).
 * The worker's dispatcher starts one workflow per row (workflow id = request_id) and marks the row.
 * Same DDL as dbt/macros/ensure_project_tables.sql (test/unit/dbt-project.test.ts checks it).
 */
export const DUCKDB_REQUESTS_DDL = `CREATE TABLE IF NOT EXISTS policy_execution_requests (
    request_id VARCHAR PRIMARY KEY,
    policy JSON NOT NULL,
    options JSON,
    requested_at TIMESTAMP NOT NULL,
    requested_by VARCHAR,
    status VARCHAR NOT NULL DEFAULT 'requested',
    workflow_id VARCHAR,
    dispatched_at TIMESTAMP,
    dispatch_error VARCHAR
)`;

/** One row per `dbt run --select policy_execution_model` run by the dbtRefresh workflow. */
export const DUCKDB_REFRESH_LOG_DDL = `CREATE TABLE IF NOT EXISTS policy_model_refresh_log (
    refresh_id VARCHAR PRIMARY KEY,
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    success BOOLEAN,
    duration_ms INTEGER,
    rows_affected INTEGER,
    model_rows INTEGER,
    requests INTEGER,
    error VARCHAR,
    workflow_id VARCHAR
)`;

/** Every DuckDB DDL statement `init()` runs, in order. */
export const DUCKDB_DDL: readonly string[] = [DUCKDB_STATE_DDL, DUCKDB_REQUESTS_DDL, DUCKDB_REFRESH_LOG_DDL];
