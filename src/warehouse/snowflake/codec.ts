/**
 * policy_execution_state rows <-> Snowflake SQL: the guarded multi-row MERGE (scalar binds in a
 * VALUES list, cast in the source SELECT: TO_TIMESTAMP_NTZ of naive UTC text, PARSE_JSON of JSON
 * text), the SELECT list that reads rows back and the mapping of the driver's values onto StateRow.
 * The bind values come from ../rows.ts, the guard from ../guard.ts; the source must hold one row per
 * execution_id (Snowflake fails a MERGE with two source rows for one target row).
 */
import { STATE_COLUMNS, type JsonValue, type StateRow } from '../../policy/state';
import { supersedesSql } from '../guard';
import { columnTypes, STATE_TABLE, TABLES } from '../tables';

type StateColumn = (typeof STATE_COLUMNS)[number];
/** Snowflake type of every state column (the definition's own names). */
const TYPES = columnTypes(TABLES.state, 'snowflake') as Record<StateColumn, string>;

/** How a bound value (column<n> of the VALUES list) becomes a value of `column`'s type. */
export function castBind(expr: string, type: string): string {
  if (type === 'TIMESTAMP_NTZ') return `TO_TIMESTAMP_NTZ(${expr})`;
  if (type === 'VARIANT') return `PARSE_JSON(${expr})`;
  return `${expr}::${type}`;
}

/** A VALUES list of `rows` rows of `columns` placeholders each. */
export function valuesList(rows: number, columns: number): string {
  const row = `(${Array.from({ length: columns }, () => '?').join(', ')})`;
  return Array.from({ length: rows }, () => row).join(', ');
}

const SOURCE_COLUMNS = STATE_COLUMNS.map((c, i) => `${castBind(`column${i + 1}`, TYPES[c])} AS ${c}`).join(
  ', ',
);
const UPDATE_SET = STATE_COLUMNS.filter((c) => c !== 'execution_id')
  .map((c) => `${c} = s.${c}`)
  .join(', ');

/**
 * The guarded upsert of `rowCount` rows into `relation` (the qualified state table): one MERGE, an
 * update only where the source row supersedes the stored one, an insert where there is none. Binds:
 * the rows' values (rows.ts) in STATE_COLUMNS order, row after row.
 */
export function mergeSql(rowCount: number, relation = STATE_TABLE): string {
  return (
    `MERGE INTO ${relation} t USING (SELECT ${SOURCE_COLUMNS} FROM VALUES ${valuesList(rowCount, STATE_COLUMNS.length)}) s` +
    ` ON t.execution_id = s.execution_id` +
    ` WHEN MATCHED AND ${supersedesSql('s', 't')} THEN UPDATE SET ${UPDATE_SET}` +
    ` WHEN NOT MATCHED THEN INSERT (${STATE_COLUMNS.join(', ')}) VALUES (${STATE_COLUMNS.map((c) => `s.${c}`).join(', ')})`
  );
}

/** SELECT list reading every state column in a shape `fromRow` maps onto StateRow (VARIANT as JSON text). */
export const SELECT_LIST = STATE_COLUMNS.map((c) => (TYPES[c] === 'VARIANT' ? `TO_JSON(${c})` : c)).join(
  ', ',
);

/** A driver value as text (the driver gives strings for VARCHAR and TO_JSON). */
export function textOf(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** A TIMESTAMP_NTZ from the driver (a Date read as UTC) as ISO-8601 UTC text with milliseconds. */
export function isoFromDb(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  const text = textOf(value);
  const date = new Date(/(?:Z|[+-]\d{2}:?\d{2})$/.test(text) ? text : `${text.replace(' ', 'T')}Z`);
  return Number.isNaN(date.getTime()) ? text : date.toISOString();
}

/** JSON text from TO_JSON(...) as a value (NULL stays null). */
export function jsonFromDb(value: unknown): JsonValue | null {
  return value === null || value === undefined ? null : (JSON.parse(textOf(value)) as JsonValue);
}

/** A row read with SELECT_LIST (rowMode 'array'), as a StateRow. */
export function fromRow(values: readonly unknown[]): StateRow {
  const out: Record<string, unknown> = {};
  STATE_COLUMNS.forEach((column, i) => {
    const value = values[i] ?? null;
    switch (TYPES[column]) {
      case 'VARIANT':
        out[column] = jsonFromDb(value);
        break;
      case 'TIMESTAMP_NTZ':
        out[column] = isoFromDb(value);
        break;
      case 'NUMBER':
        out[column] = value === null ? null : Number(value);
        break;
      default:
        out[column] = value;
    }
  });
  return out as unknown as StateRow;
}
