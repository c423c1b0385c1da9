/**
 * The warehouse tables, read from their one definition: the dbt package's sources
 * (`dbt/models/sources.yml`). There every column has its type (Snowflake's names, as in the usage
 * guide: VARCHAR, NUMBER, BOOLEAN, TIMESTAMP_NTZ, VARIANT) and, in `config.meta`, `primary_key`,
 * `not_null` and `default`; the source's own `config.meta` says how each warehouse spells the types
 * (`column_types`) and the `now_utc` default (`defaults`). The worker creates and migrates the tables
 * from this module; the dbt macro `ensure_project_tables` reads the same file through dbt's graph.
 * Neither keeps a copy of the DDL.
 *
 * Timestamps are naive UTC (Snowflake TIMESTAMP_NTZ = DuckDB TIMESTAMP); the guide's VARIANT
 * columns are DuckDB JSON.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { STATE_COLUMNS } from '../policy/state';

export type Dialect = 'duckdb' | 'snowflake';

export interface ColumnSpec {
  name: string;
  /** Snowflake type name (the definition's own spelling). */
  type: string;
  primaryKey: boolean;
  notNull: boolean;
  /** SQL default expression, or the `now_utc` token; null when none. */
  default: string | null;
}

export interface TableSpec {
  name: string;
  columns: readonly ColumnSpec[];
}

export const STATE_TABLE = 'policy_execution_state';
export const REQUESTS_TABLE = 'policy_execution_requests';
export const REFRESH_LOG_TABLE = 'policy_model_refresh_log';

/** The definition file, two levels up from this module in src/ and in dist/ alike. */
export const TABLES_DEFINITION = path.resolve(__dirname, '..', '..', 'dbt', 'models', 'sources.yml');

interface RawColumn {
  name?: unknown;
  data_type?: unknown;
  config?: { meta?: { primary_key?: unknown; not_null?: unknown; default?: unknown } };
}
interface RawSource {
  name?: unknown;
  config?: {
    meta?: {
      column_types?: Record<string, Record<string, string>>;
      defaults?: Record<string, Record<string, string>>;
    };
  };
  tables?: { name?: unknown; columns?: RawColumn[] }[];
}

interface Definition {
  tables: Map<string, TableSpec>;
  columnTypes: Partial<Record<Dialect, Record<string, string>>>;
  defaults: Partial<Record<Dialect, Record<string, string>>>;
}

function definitionError(detail: string): Error {
  return new Error(`warehouse table definition (${TABLES_DEFINITION}): ${detail}`);
}

function loadDefinition(file: string): Definition {
  const doc = parse(fs.readFileSync(file, 'utf8')) as { sources?: RawSource[] };
  const source = doc.sources?.find((s) => s.name === 'policy_execution');
  if (!source) throw definitionError("no source named 'policy_execution'");
  const tables = new Map<string, TableSpec>();
  for (const t of source.tables ?? []) {
    const tableName = t.name;
    if (typeof tableName !== 'string') continue;
    const columns = (t.columns ?? []).map((c): ColumnSpec => {
      if (typeof c.name !== 'string' || typeof c.data_type !== 'string')
        throw definitionError(`${tableName}: every column needs a name and a data_type`);
      const meta = c.config?.meta ?? {};
      return {
        name: c.name,
        type: c.data_type.toUpperCase(),
        primaryKey: meta.primary_key === true,
        notNull: meta.not_null === true || meta.primary_key === true,
        default:
          typeof meta.default === 'string' ||
          typeof meta.default === 'number' ||
          typeof meta.default === 'boolean'
            ? String(meta.default)
            : null,
      };
    });
    tables.set(tableName, { name: tableName, columns });
  }
  const meta = source.config?.meta ?? {};
  return { tables, columnTypes: meta.column_types ?? {}, defaults: meta.defaults ?? {} };
}

const definition = loadDefinition(TABLES_DEFINITION);

function table(name: string): TableSpec {
  const spec = definition.tables.get(name);
  if (!spec) throw definitionError(`no table '${name}'`);
  return spec;
}

export const TABLES = {
  state: table(STATE_TABLE),
  requests: table(REQUESTS_TABLE),
  refreshLog: table(REFRESH_LOG_TABLE),
} as const;

/** The state row's shape in code (StateRow / STATE_COLUMNS) and the table must name the same columns. */
function assertStateColumns(): void {
  const defined = TABLES.state.columns.map((c) => c.name).sort();
  const inCode = [...STATE_COLUMNS].sort();
  if (defined.join() !== inCode.join()) {
    throw definitionError(
      `${STATE_TABLE} columns [${defined.join(', ')}] differ from the state row's [${inCode.join(', ')}]`,
    );
  }
}
assertStateColumns();

/** How `dialect` spells a column's type. */
export function columnType(column: ColumnSpec, dialect: Dialect): string {
  return definition.columnTypes[dialect]?.[column.type] ?? column.type;
}

function columnDefault(column: ColumnSpec, dialect: Dialect): string | null {
  if (column.default === null) return null;
  return definition.defaults[dialect]?.[column.default] ?? column.default;
}

/** The type of every column of `spec` in `dialect`, by name. */
export function columnTypes(spec: TableSpec, dialect: Dialect): Record<string, string> {
  return Object.fromEntries(spec.columns.map((c) => [c.name, columnType(c, dialect)]));
}

/** `CREATE TABLE IF NOT EXISTS` for `spec` in `dialect` (`relation`: the possibly qualified name). */
export function createTableSql(spec: TableSpec, dialect: Dialect, relation: string = spec.name): string {
  const lines = spec.columns.map((c) => {
    const parts = [c.name, columnType(c, dialect)];
    if (c.primaryKey) parts.push('PRIMARY KEY');
    else if (c.notNull) parts.push('NOT NULL');
    const def = columnDefault(c, dialect);
    if (def !== null) parts.push(`DEFAULT ${def}`);
    return `    ${parts.join(' ')}`;
  });
  return `CREATE TABLE IF NOT EXISTS ${relation} (\n${lines.join(',\n')}\n)`;
}

/**
 * Migration of a table created by an earlier version: `ALTER TABLE ... ADD COLUMN` for every
 * defined column that `existing` (lower-case names) lacks. Added columns are nullable, no default.
 */
export function addMissingColumnsSql(
  spec: TableSpec,
  dialect: Dialect,
  existing: ReadonlySet<string>,
  relation: string = spec.name,
): string[] {
  return spec.columns
    .filter((c) => !existing.has(c.name.toLowerCase()))
    .map((c) => `ALTER TABLE ${relation} ADD COLUMN ${c.name} ${columnType(c, dialect)}`);
}
