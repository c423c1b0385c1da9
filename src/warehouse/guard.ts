/**
 * The write guard, for every warehouse adapter: the `supersedes` rule of src/policy/state.ts (runs
 * first, version second) as a predicate on an incoming row and the stored row of the same
 * execution_id, given their table aliases (DuckDB: `excluded` and the table; Snowflake: the MERGE's
 * source and target), and applied to a batch before it is written (one row per execution_id).
 */
import { supersedes, type StateRow } from '../policy/state';

export function supersedesSql(incoming: string, stored: string): string {
  const sameRun = `(${incoming}.run_id IS NULL OR ${stored}.run_id IS NULL OR ${incoming}.run_id = ${stored}.run_id)`;
  return (
    `((${sameRun} AND ${incoming}.state_version > ${stored}.state_version)` +
    ` OR (${incoming}.run_id <> ${stored}.run_id AND ${incoming}.updated_at > ${stored}.updated_at))`
  );
}

/** A row of a batch, keyed by execution_id, with what the guard compares. */
interface GuardedRow {
  executionId: string;
  order: Pick<StateRow, 'run_id' | 'state_version' | 'updated_at'>;
}

/**
 * One row per execution_id: the one no other supersedes (the later one on a tie). An upsert's source
 * must not hold two rows for one key (Snowflake fails such a MERGE; DuckDB's ON CONFLICT fails too).
 */
export function latestPerExecution<T extends GuardedRow>(rows: readonly T[]): T[] {
  const byId = new Map<string, T>();
  for (const row of rows) {
    const seen = byId.get(row.executionId);
    if (!seen || !supersedes(seen.order, row.order)) byId.set(row.executionId, row);
  }
  return [...byId.values()];
}
