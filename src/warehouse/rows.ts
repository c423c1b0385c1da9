/**
 * A state row as bind values, for every warehouse adapter: validated against the table definition's
 * types (VARCHAR, NUMBER, BOOLEAN, TIMESTAMP_NTZ, VARIANT; tables.ts), timestamps as naive UTC text,
 * VARIANT / JSON values as JSON text, in STATE_COLUMNS order. Each adapter casts them in its own SQL
 * (DuckDB `?::TYPE`, Snowflake TO_TIMESTAMP_NTZ / PARSE_JSON).
 */
import { STATE_COLUMNS, type StateRow } from '../policy/state';
import { TABLES } from './tables';

/** What both drivers bind: text, a number, a boolean or NULL. */
export type BindValue = string | number | boolean | null;

type StateColumn = (typeof STATE_COLUMNS)[number];
/** The definition's type of every state column (Snowflake's names). */
const DEFINED_TYPES = Object.fromEntries(TABLES.state.columns.map((c) => [c.name, c.type])) as Record<
  StateColumn,
  string
>;
const REQUIRED = new Set<StateColumn>(['state_version', 'start_time', 'workflow_id']);
const HAS_OFFSET = /(?:Z|[+-]\d{2}(?::?\d{2})?)$/i;

/** ISO-8601 (any offset; no offset = UTC) -> naive UTC text, `YYYY-MM-DD HH:MM:SS.fff`. */
export function toDbTimestamp(value: string, column: string, executionId: string): string {
  const date = new Date(HAS_OFFSET.test(value) ? value : `${value}Z`);
  if (Number.isNaN(date.getTime())) {
    throw new TypeError(
      `policy_execution_state.${column} for '${executionId}' is not an ISO timestamp: ${value}`,
    );
  }
  return date.toISOString().slice(0, -1).replace('T', ' ');
}

function invalid(executionId: unknown, column: string, detail: string): TypeError {
  return new TypeError(`policy_execution_state.${column} for '${String(executionId)}' ${detail}`);
}

/** Validate a row and turn it into bind values in STATE_COLUMNS order. Throws TypeError if invalid. */
function toParams(row: StateRow): BindValue[] {
  const id = row.execution_id;
  if (typeof id !== 'string' || id.length === 0)
    throw invalid(id, 'execution_id', 'must be a non-empty string');
  return STATE_COLUMNS.map((column): BindValue => {
    const value: unknown = row[column];
    const type = DEFINED_TYPES[column];
    if (type === 'VARIANT') {
      if (value === null || value === undefined) return null;
      const text = JSON.stringify(value);
      if (text === undefined) throw invalid(id, column, 'is not JSON-serializable');
      return text;
    }
    if (value === null || value === undefined) {
      if (REQUIRED.has(column)) throw invalid(id, column, 'is required');
      return null;
    }
    switch (type) {
      case 'TIMESTAMP_NTZ':
        if (typeof value !== 'string') throw invalid(id, column, 'must be an ISO timestamp string');
        return toDbTimestamp(value, column, id);
      case 'NUMBER':
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

/** A validated row ready to bind: its parameters and what de-duplication (guard.ts) needs. */
export interface PreparedRow {
  executionId: string;
  /** What the write guard compares. */
  order: Pick<StateRow, 'run_id' | 'state_version' | 'updated_at'>;
  params: BindValue[];
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
