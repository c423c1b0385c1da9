/**
 * policy_execution_state rows <-> DuckDB SQL: validated bind parameters, timestamps, the SELECT list
 * that reads rows back, and the version-guarded multi-row upsert with its de-duplication.
 */
import type { DuckDBValue } from '@duckdb/node-api';
import { JSON_COLUMNS, STATE_COLUMNS, supersedes, type JsonValue, type StateRow } from '../../policy/state';
import { supersedesSql } from '../guard';
import { columnTypes, STATE_TABLE, TABLES } from '../tables';

type StateColumn = (typeof STATE_COLUMNS)[number];
/** DuckDB type of every state column (VARCHAR, INTEGER, BOOLEAN, TIMESTAMP, JSON), from the table definition. */
const DUCKDB_STATE_COLUMN_TYPES = columnTypes(TABLES.state, 'duckdb') as Record<StateColumn, string>;
const JSON_SET = new Set<StateColumn>(JSON_COLUMNS);
const TIMESTAMP_COLUMNS = STATE_COLUMNS.filter((c) => DUCKDB_STATE_COLUMN_TYPES[c] === 'TIMESTAMP');
const HAS_OFFSET = /(?:Z|[+-]\d{2}(?::?\d{2})?)$/i;

/** ISO-8601 (any offset; no offset = UTC) -> naive UTC text DuckDB casts to TIMESTAMP. */
export function toDbTimestamp(value: string, column: string, executionId: string): string {
  const date = new Date(HAS_OFFSET.test(value) ? value : `${value}Z`);
  if (Number.isNaN(date.getTime())) {
    throw new TypeError(
      `policy_execution_state.${column} for '${executionId}' is not an ISO timestamp: ${value}`,
    );
  }
  return date.toISOString().slice(0, -1).replace('T', ' ');
}

/** SQL expression reading TIMESTAMP `column` back as ISO-8601 UTC text (millisecond precision, `Z`). */
export function isoTimestampSql(column: string): string {
  return `strftime(${column}, '%Y-%m-%dT%H:%M:%S.%gZ')`;
}

function invalid(executionId: unknown, column: string, detail: string): TypeError {
  return new TypeError(`policy_execution_state.${column} for '${String(executionId)}' ${detail}`);
}

/** Validate a row and turn it into bind values in STATE_COLUMNS order. Throws TypeError if invalid. */
function toParams(row: StateRow): DuckDBValue[] {
  const id = row.execution_id;
  if (typeof id !== 'string' || id.length === 0)
    throw invalid(id, 'execution_id', 'must be a non-empty string');
  return STATE_COLUMNS.map((column): DuckDBValue => {
    const value: unknown = row[column];
    if (JSON_SET.has(column)) {
      if (value === null || value === undefined) return null;
      const text = JSON.stringify(value);
      if (text === undefined) throw invalid(id, column, 'is not JSON-serializable');
      return text;
    }
    const type = DUCKDB_STATE_COLUMN_TYPES[column];
    if (value === null || value === undefined) {
      if (column === 'state_version' || column === 'start_time' || column === 'workflow_id') {
        throw invalid(id, column, 'is required');
      }
      return null;
    }
    switch (type) {
      case 'TIMESTAMP':
        if (typeof value !== 'string') throw invalid(id, column, 'must be an ISO timestamp string');
        return toDbTimestamp(value, column, id);
      case 'INTEGER':
        if (typeof value !== 'number' || !Number.isSafeInteger(value))
          throw invalid(id, column, 'must be an integer');
        return value;
      case 'BOOLEAN':
        if (typeof value !== 'boolean') throw invalid(id, column, 'must be a boolean');
        return value;
      default:
        if (typeof value !== 'string') throw invalid(id, column, 'must be a string');
        return value;
    }
  });
}

/** A validated row ready to bind: its upsert parameters and what de-duplication needs. */
export interface PreparedRow {
  executionId: string;
  /** What the write guard compares. */
  order: Pick<StateRow, 'run_id' | 'state_version' | 'updated_at'>;
  params: DuckDBValue[];
}

/** Validates and converts `row`; throws TypeError if invalid. */
export function prepareRow(row: StateRow): PreparedRow {
  const { run_id, state_version, updated_at } = row;
  return {
    executionId: row.execution_id,
    order: { run_id, state_version, updated_at },
    params: toParams(row),
  };
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

/** One row per execution_id: the one no other supersedes (the later one on a tie). */
export function dedupe(rows: readonly PreparedRow[]): PreparedRow[] {
  const byId = new Map<string, PreparedRow>();
  for (const row of rows) {
    const seen = byId.get(row.executionId);
    if (!seen || !supersedes(seen.order, row.order)) byId.set(row.executionId, row);
  }
  return [...byId.values()];
}
