/**
 * The warehouse contract: DuckDB (embedded default) implements it in duckdb/warehouse.ts, Snowflake
 * in snowflake/warehouse.ts; factory.ts picks one. Also the errors every adapter raises, so callers
 * (the state-write activities) can tell a retryable failure from a permanent one.
 */
import type { JsonValue, StateRow } from '../policy/state';

/** Structured logger; compatible with Temporal's `Logger` and a console wrapper. */
export interface WarehouseLogger {
  debug(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
}

/** A row of policy_execution_requests still waiting for the dispatcher (status `requested`). */
export interface ExecutionRequest {
  request_id: string;
  /** The policy as stored (normally a JSON object; the workflow validates it). */
  policy: JsonValue;
  options: JsonValue | null;
  /** ISO-8601 UTC. */
  requested_at: string;
  requested_by: string | null;
}

/** What the dispatcher did with a request. */
export type RequestOutcome =
  | { requestId: string; status: 'dispatched'; workflowId: string }
  /** Could not start (yet): the row stays `requested` (retried on the next pass) with the error. */
  | { requestId: string; status: 'retry'; error: string };

/** One run of `dbt run --select policy_execution_model` by the dbtRefresh workflow. */
export interface RefreshLogEntry {
  refresh_id: string;
  /** ISO-8601 UTC. */
  started_at: string;
  finished_at: string;
  success: boolean;
  duration_ms: number;
  rows_affected: number | null;
  /** Rows in policy_execution_model after the run. */
  model_rows: number | null;
  /** Refresh requests coalesced into this run. */
  requests: number;
  error: string | null;
  workflow_id: string;
}

/** Write counters (the benchmark reads them from the worker's WORKER_STATS_FILE). */
export interface WarehouseStats {
  /** Upsert statements executed (DuckDB: INSERT ... ON CONFLICT; Snowflake: MERGE). */
  statements: number;
  /** Written batches of coalesced upserts. */
  batches: number;
  /** Rows sent in written batches (after de-duplication; includes rows the write guard skipped). */
  rowsWritten: number;
}

export interface Warehouse {
  /** Create policy_execution_state (and other project tables) if missing. Idempotent. */
  init(): Promise<void>;
  /**
   * Upsert rows, version-guarded: a row is written only if no row with that execution_id exists or
   * the stored state_version is lower. Resolves once the rows are durable.
   */
  upsertStates(rows: readonly StateRow[]): Promise<void>;
  getState(executionId: string): Promise<StateRow | null>;
  /** Most recent first (by start_time). */
  listStates(opts?: { limit?: number }): Promise<StateRow[]>;
  /** The rows written by these workflows (by workflow_id), in no particular order. */
  statesOfWorkflows(workflowIds: readonly string[]): Promise<StateRow[]>;
  /** Requests with status `requested`, oldest first. */
  pendingRequests(limit?: number): Promise<ExecutionRequest[]>;
  /** Record the dispatcher's outcomes (one statement per kind). Only rows still `requested` change. */
  markRequests(outcomes: readonly RequestOutcome[]): Promise<void>;
  /** Append to policy_model_refresh_log. */
  recordRefresh(entry: RefreshLogEntry): Promise<void>;
  /**
   * Run `fn` (e.g. a dbt subprocess) while this process keeps its hands off the warehouse: its own
   * reads and writes queue until `fn` settles. For DuckDB this is how the worker's dbt run gets the
   * single-writer file without fighting the worker's own writes.
   */
  withLease<T>(fn: () => Promise<T>): Promise<T>;
  /** Row count of a table, or null if it does not exist. */
  countRows(table: string): Promise<number | null>;
  stats(): WarehouseStats;
  /** Waits for queued writes, then lets go of connections. */
  close(): Promise<void>;
}

/** Raised when the database file stayed locked by another process for longer than the bounded wait. */
export class WarehouseBusyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WarehouseBusyError';
  }
}

/**
 * A failure that retrying can fix: the network, an expired or lost session, throttling, a timeout.
 * The adapter has already dropped the connection it happened on; the caller retries (for state writes:
 * Temporal's retry policy).
 */
export class WarehouseUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WarehouseUnavailableError';
  }
}

/**
 * A failure that retrying will not fix: SQL, authentication, permissions, a missing database, schema
 * or table. The message names the setting to look at (`setting`) when there is one.
 */
export class WarehouseConfigError extends Error {
  constructor(
    message: string,
    readonly setting: string | null = null,
  ) {
    super(message);
    this.name = 'WarehouseConfigError';
  }
}
