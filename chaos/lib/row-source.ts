/**
 * Where the chaos suite reads a scenario's state rows: the scenario's DuckDB file (here) or its
 * Snowflake emulator (snowflake.ts). The sampler reads every row's head while the scenario runs; the
 * invariants read the final rows.
 */
import fs from 'node:fs';
import type { StateRow } from '../../src/policy';
import { isoTimestampSql } from '../../src/warehouse/duckdb/codec';
import { withDuckDb } from '../../src/warehouse/duckdb/connection';
import type { ExecutionStatus } from '../../src/policy';
import { readAllRows } from './warehouse';

/** What the sampler sees of a row. */
export type RowHead = Pick<
  StateRow,
  'execution_id' | 'run_id' | 'state_version' | 'status' | 'updated_at' | 'error_message'
>;

export interface RowSource {
  /** Every row's head now; null when there is nothing to read yet. Throws when busy or unreachable. */
  readHeads(): Promise<RowHead[] | null>;
  /** Every row (the final rows, after the workers stopped). */
  readAllRows(): Promise<StateRow[]>;
  close(): Promise<void>;
}

export function headOf(row: StateRow): RowHead {
  const { execution_id, run_id, state_version, status, updated_at, error_message } = row;
  return { execution_id, run_id, state_version, status, updated_at, error_message };
}

/** A scenario's DuckDB file: read-only, nothing to read before the file exists. */
export function duckDbRows(file: string): RowSource {
  return {
    readHeads: () => (fs.existsSync(file) ? readHeads(file) : Promise.resolve(null)),
    readAllRows: () => (fs.existsSync(file) ? readAllRows(file) : Promise.resolve([])),
    close: () => Promise.resolve(),
  };
}

/** Every row's head, read-only (throws when the file is busy or has no table yet). */
async function readHeads(file: string): Promise<RowHead[]> {
  return withDuckDb(
    file,
    async (c) => {
      const r = await c.runAndReadAll(
        `SELECT execution_id, run_id, state_version, status, ${isoTimestampSql('updated_at')}, error_message
           FROM policy_execution_state`,
      );
      return r.getRows().map(([id, run, version, status, updatedAt, error]) => ({
        execution_id: String(id),
        run_id: run === null ? null : String(run),
        state_version: Number(version),
        status: String(status) as ExecutionStatus,
        updated_at: String(updatedAt),
        error_message: error === null ? null : String(error),
      }));
    },
    { readOnly: true, transaction: false, lockTimeoutMs: 3000 },
  );
}
