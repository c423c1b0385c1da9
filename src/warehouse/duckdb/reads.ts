/**
 * The DuckDB SQL of the state table's reads and of the schema (every table created, missing columns
 * added), run by DuckDbWarehouse (warehouse.ts) on a connection it opened.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { StateRow } from '../../policy/state';
import { addMissingColumnsSql, createTableSql, STATE_TABLE, TABLES } from '../tables';
import { fromDb, SELECT_LIST } from './codec';

/** Creates every table of the project that is missing and adds the columns an older file lacks. */
export async function ensureTables(connection: DuckDBConnection): Promise<void> {
  for (const spec of Object.values(TABLES)) {
    await connection.run(createTableSql(spec, 'duckdb'));
    const existing = await connection.runAndReadAll(
      `SELECT lower(column_name) FROM information_schema.columns WHERE table_name = ?::VARCHAR`,
      [spec.name],
    );
    const names = new Set(existing.getRows().map(([name]) => String(name)));
    for (const alter of addMissingColumnsSql(spec, 'duckdb', names)) await connection.run(alter);
  }
}

/** The state row of one execution, or null. */
export async function selectState(
  connection: DuckDBConnection,
  executionId: string,
): Promise<StateRow | null> {
  const reader = await connection.runAndReadAll(
    `SELECT ${SELECT_LIST} FROM ${STATE_TABLE} WHERE execution_id = ?::VARCHAR`,
    [executionId],
  );
  const first = reader.getRows()[0];
  return first ? fromDb(first) : null;
}

/** The latest-started `limit` rows, newest first. */
export async function selectLatestStates(connection: DuckDBConnection, limit: number): Promise<StateRow[]> {
  const reader = await connection.runAndReadAll(
    `SELECT ${SELECT_LIST} FROM ${STATE_TABLE} ORDER BY start_time DESC, execution_id LIMIT ?::BIGINT`,
    [limit],
  );
  return reader.getRows().map(fromDb);
}

/** The rows of these workflow ids (at least one id). */
export async function selectStatesOfWorkflows(
  connection: DuckDBConnection,
  workflowIds: readonly string[],
): Promise<StateRow[]> {
  const reader = await connection.runAndReadAll(
    `SELECT ${SELECT_LIST} FROM ${STATE_TABLE}
      WHERE workflow_id IN (${workflowIds.map(() => '?::VARCHAR').join(', ')})`,
    [...workflowIds],
  );
  return reader.getRows().map(fromDb);
}

/** Row count of `table` (a checked identifier), or null when it does not exist. */
export async function countTableRows(connection: DuckDBConnection, table: string): Promise<number | null> {
  const exists = await connection.runAndReadAll(
    `SELECT count(*) FROM information_schema.tables WHERE table_name = ?::VARCHAR`,
    [table],
  );
  if (Number(exists.getRows()[0]?.[0] ?? 0) === 0) return null;
  const reader = await connection.runAndReadAll(`SELECT count(*) FROM ${table}`);
  return Number(reader.getRows()[0]?.[0] ?? 0);
}
