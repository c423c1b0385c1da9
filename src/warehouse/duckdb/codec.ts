/**
 * policy_execution_state rows <-> DuckDB SQL: the SELECT list that reads rows back and the
 * version-guarded multi-row upsert (the bind values come from ../rows.ts, de-duplication from
 * ../guard.ts).
 */
import type { DuckDBValue } from '@duckdb/node-api';
import { JSON_COLUMNS, STATE_COLUMNS, type JsonValue, type StateRow } from '../../policy/state';
import { supersedesSql } from '../guard';
import { columnTypes, STATE_TABLE, TABLES } from '../tables';

type StateColumn = (typeof STATE_COLUMNS)[number];
/** DuckDB type of every state column (VARCHAR, INTEGER, BOOLEAN, TIMESTAMP, JSON), from the table definition. */
const DUCKDB_STATE_COLUMN_TYPES = columnTypes(TABLES.state, 'duckdb') as Record<StateColumn, string>;
const JSON_SET = new Set<StateColumn>(JSON_COLUMNS);
const TIMESTAMP_COLUMNS = STATE_COLUMNS.filter((c) => DUCKDB_STATE_COLUMN_TYPES[c] === 'TIMESTAMP');

/** SQL expression reading TIMESTAMP `column` back as ISO-8601 UTC text (millisecond precision, `Z`). */
export function isoTimestampSql(column: string): string {
  return `strftime(${column}, '%Y-%m-%dT%H:%M:%S.%gZ')`;
}

/** SELECT list that returns every column in a shape `fromDb` maps 1:1 onto StateRow. */
export const SELECT_LIST = STATE_COLUMNS.map((c) => {
  if (JSON_SET.has(c)) return `CAST(${c} AS VARCHAR) AS ${c}`;
  if ((TIMESTAMP_COLUMNS as readonly string[]).includes(c)) return `${isoTimestampSql(c)} AS ${c}`;
  return c;
}).join(', ');

/** A row read with SELECT_LIST, as a StateRow. */
export function fromDb(values: readonly DuckDBValue[]): StateRow {
  const out: Record<string, unknown> = {};
  STATE_COLUMNS.forEach((column, i) => {
    const value = values[i] ?? null;
    if (JSON_SET.has(column)) {
      out[column] = value === null ? null : (JSON.parse(String(value)) as JsonValue);
    } else if (typeof value === 'bigint') {
      out[column] = Number(value);
    } else {
      out[column] = value;
    }
  });
  return out as unknown as StateRow;
}

const UPDATE_COLUMNS = STATE_COLUMNS.filter((c) => c !== 'execution_id');
const ROW_PLACEHOLDERS = `(${STATE_COLUMNS.map((c) => `?::${DUCKDB_STATE_COLUMN_TYPES[c]}`).join(', ')})`;
const UPSERT_HEAD = `INSERT INTO ${STATE_TABLE} (${STATE_COLUMNS.join(', ')}) VALUES `;
const UPSERT_TAIL =
  ` ON CONFLICT (execution_id) DO UPDATE SET ${UPDATE_COLUMNS.map((c) => `${c} = excluded.${c}`).join(', ')}` +
  ` WHERE ${supersedesSql('excluded', STATE_TABLE)}`;

/** The version-guarded upsert for `rowCount` rows (exported for tests and the docs). */
export function upsertSql(rowCount: number): string {
  return UPSERT_HEAD + Array.from({ length: rowCount }, () => ROW_PLACEHOLDERS).join(', ') + UPSERT_TAIL;
}
