/**
 * The warehouse contract: DuckDB (embedded default) implements it in duckdb.ts; a Snowflake adapter
 * implements the same interface.
 */
import type { StateRow } from '../policy/state';

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
  close(): Promise<void>;
}

/** Raised when the database file stayed locked by another process for longer than the bounded wait. */
export class WarehouseBusyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WarehouseBusyError';
  }
}
