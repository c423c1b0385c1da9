/**
 * Prepared statements kept on a connection while this process holds the DuckDB file
 * (connection.ts), so a statement the writer runs again and again is parsed and planned once per
 * open instead of once per batch (docs/performance-log.md, change 13: with the autocommit of a
 * one-statement batch, CPU per statement 18 -> 16 ms for one row, 30 -> 26 ms for ten).
 *
 * The cache belongs to the connection object: a connection that closes destroys its prepared
 * statements itself (@duckdb/node-api tracks them), and the next open starts with an empty cache.
 * Within a process all access to a file is serialized (connection.ts), so a cached statement is
 * never bound by two callers at once.
 */
import type { DuckDBConnection, DuckDBPreparedStatement, DuckDBValue } from '@duckdb/node-api';

/** Statements kept per connection (the upsert comes in one text per batch size); the oldest goes first. */
export const MAX_CACHED_STATEMENTS = 16;

const caches = new WeakMap<DuckDBConnection, Map<string, DuckDBPreparedStatement>>();

/** What the cache did for one call: `prepared` true when it had to prepare `sql` first. */
export interface PreparedRun {
  prepared: boolean;
  rowsChanged: number;
}

/** Runs `sql` with `values` as a prepared statement kept on `connection` for the next call. */
export async function runPrepared(
  connection: DuckDBConnection,
  sql: string,
  values: DuckDBValue[],
): Promise<PreparedRun> {
  let cache = caches.get(connection);
  if (!cache) {
    cache = new Map();
    caches.set(connection, cache);
  }
  let statement = cache.get(sql);
  const prepared = statement === undefined;
  if (statement) {
    // Most recently used last: the eviction below takes the first.
    cache.delete(sql);
    cache.set(sql, statement);
  } else {
    statement = await connection.prepare(sql);
    cache.set(sql, statement);
    if (cache.size > MAX_CACHED_STATEMENTS) {
      const [oldestSql, oldest] = cache.entries().next().value as [string, DuckDBPreparedStatement];
      cache.delete(oldestSql);
      oldest.destroySync();
    }
  }
  try {
    statement.bind(values);
    const result = await statement.run();
    return { prepared, rowsChanged: result.rowsChanged };
  } catch (err) {
    // A statement that failed is not trusted again: the next call prepares it anew.
    if (cache.get(sql) === statement) cache.delete(sql);
    statement.destroySync();
    throw err;
  }
}
