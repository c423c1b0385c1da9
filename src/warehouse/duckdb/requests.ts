/**
 * The DuckDB SQL of the dispatcher's request table and of the refresh log (docs/design.md,
 * decisions 7 and 5), run by DuckDbWarehouse (warehouse.ts) on a connection it opened.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { JsonValue } from '../../policy/state';
import { toDbTimestamp } from '../rows';
import { REFRESH_LOG_TABLE, REQUESTS_TABLE } from '../tables';
import type { ExecutionRequest, RefreshLogEntry, RequestOutcome } from '../types';
import { isoTimestampSql } from './codec';

/** Requests still `requested`, oldest first, at most `limit`. */
export async function selectPendingRequests(
  connection: DuckDBConnection,
  limit: number,
): Promise<ExecutionRequest[]> {
  const reader = await connection.runAndReadAll(
    `SELECT request_id, CAST(policy AS VARCHAR), CAST(options AS VARCHAR),
            ${isoTimestampSql('requested_at')}, requested_by
       FROM ${REQUESTS_TABLE}
      WHERE status = 'requested'
      ORDER BY requested_at, request_id
      LIMIT ?::BIGINT`,
    [limit],
  );
  return reader.getRows().map(([id, policy, options, at, by]) => ({
    request_id: String(id),
    policy: JSON.parse(String(policy)) as JsonValue,
    options: options === null || options === undefined ? null : (JSON.parse(String(options)) as JsonValue),
    requested_at: String(at),
    requested_by: by === null || by === undefined ? null : String(by),
  }));
}

/** Each outcome on its request, only while the request is still `requested`; `now` is the dispatch time. */
export async function markOutcomes(
  connection: DuckDBConnection,
  outcomes: readonly RequestOutcome[],
  now: string,
): Promise<void> {
  for (const o of outcomes) {
    if (o.status === 'dispatched') {
      await connection.run(
        `UPDATE ${REQUESTS_TABLE}
            SET status = 'dispatched', workflow_id = ?::VARCHAR, dispatched_at = ?::TIMESTAMP,
                dispatch_error = NULL
          WHERE request_id = ?::VARCHAR AND status = 'requested'`,
        [o.workflowId, now, o.requestId],
      );
    } else {
      await connection.run(
        `UPDATE ${REQUESTS_TABLE} SET dispatch_error = ?::VARCHAR
          WHERE request_id = ?::VARCHAR AND status = 'requested'`,
        [o.error.slice(0, 2000), o.requestId],
      );
    }
  }
}

/** One dbt run in the refresh log, once whatever the retries (keyed by refresh_id). */
export async function insertRefresh(connection: DuckDBConnection, entry: RefreshLogEntry): Promise<void> {
  const ts = (v: string, c: string) => toDbTimestamp(v, c, entry.refresh_id);
  await connection.run(
    `INSERT INTO ${REFRESH_LOG_TABLE}
       (refresh_id, started_at, finished_at, success, duration_ms, rows_affected, model_rows, requests, error, workflow_id)
     VALUES (?::VARCHAR, ?::TIMESTAMP, ?::TIMESTAMP, ?::BOOLEAN, ?::INTEGER, ?::INTEGER, ?::INTEGER, ?::INTEGER, ?::VARCHAR, ?::VARCHAR)
     ON CONFLICT (refresh_id) DO NOTHING`,
    [
      entry.refresh_id,
      ts(entry.started_at, 'started_at'),
      ts(entry.finished_at, 'finished_at'),
      entry.success,
      Math.round(entry.duration_ms),
      entry.rows_affected,
      entry.model_rows,
      entry.requests,
      entry.error === null ? null : entry.error.slice(0, 4000),
      entry.workflow_id,
    ],
  );
}
