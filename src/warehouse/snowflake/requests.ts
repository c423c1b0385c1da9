/**
 * The SQL of the dispatcher's request table and the refresher's log on Snowflake: read pending
 * requests, mark outcomes (one MERGE per kind, only rows still `requested` change), append a refresh
 * run once (a repeated append of the same refresh_id is a no-op). Every statement is idempotent, so a
 * late delivery of one the adapter gave up on changes nothing.
 */
import type { ExecutionRequest, RefreshLogEntry, RequestOutcome } from '../types';
import type { BindValue } from '../rows';
import { toDbTimestamp } from '../rows';
import { columnTypes, TABLES } from '../tables';
import { castBind, isoFromDb, jsonFromDb, textOf, valuesList } from './codec';

export interface Statement {
  sql: string;
  binds: BindValue[];
}

export function pendingRequestsSql(relation: string, limit: number): Statement {
  return {
    sql: `SELECT request_id, TO_JSON(policy), TO_JSON(options), requested_at, requested_by
            FROM ${relation}
           WHERE status = 'requested'
           ORDER BY requested_at, request_id
           LIMIT ${limit}`,
    binds: [],
  };
}

export function requestFromRow([id, policy, options, at, by]: readonly unknown[]): ExecutionRequest {
  return {
    request_id: textOf(id),
    policy: jsonFromDb(policy),
    options: jsonFromDb(options),
    requested_at: isoFromDb(at) ?? '',
    requested_by: by === null || by === undefined ? null : textOf(by),
  };
}

/** One MERGE per kind of outcome (none for a kind without outcomes). */
export function markRequestsSql(
  relation: string,
  outcomes: readonly RequestOutcome[],
  now: Date,
): Statement[] {
  const latest = new Map(outcomes.map((o) => [o.requestId, o]));
  const dispatched = [...latest.values()].filter((o) => o.status === 'dispatched');
  const retries = [...latest.values()].filter((o) => o.status === 'retry');
  const out: Statement[] = [];
  if (dispatched.length > 0) {
    out.push({
      sql:
        `MERGE INTO ${relation} t USING (SELECT column1::VARCHAR AS request_id, column2::VARCHAR AS workflow_id` +
        ` FROM VALUES ${valuesList(dispatched.length, 2)}) s ON t.request_id = s.request_id` +
        ` WHEN MATCHED AND t.status = 'requested' THEN UPDATE SET status = 'dispatched',` +
        ` workflow_id = s.workflow_id, dispatched_at = ${castBind('?', 'TIMESTAMP_NTZ')}, dispatch_error = NULL`,
      binds: [
        ...dispatched.flatMap((o) => [o.requestId, o.workflowId]),
        toDbTimestamp(now.toISOString(), 'dispatched_at', 'dispatcher'),
      ],
    });
  }
  if (retries.length > 0) {
    out.push({
      sql:
        `MERGE INTO ${relation} t USING (SELECT column1::VARCHAR AS request_id, column2::VARCHAR AS error` +
        ` FROM VALUES ${valuesList(retries.length, 2)}) s ON t.request_id = s.request_id` +
        ` WHEN MATCHED AND t.status = 'requested' THEN UPDATE SET dispatch_error = s.error`,
      binds: retries.flatMap((o) => [o.requestId, o.error.slice(0, 2000)]),
    });
  }
  return out;
}

/** The columns an entry fills, in bind order; their types come from the table definition. */
const LOG_COLUMNS = [
  'refresh_id',
  'started_at',
  'finished_at',
  'success',
  'duration_ms',
  'rows_affected',
  'model_rows',
  'requests',
  'error',
  'workflow_id',
] as const;
const LOG_TYPES = columnTypes(TABLES.refreshLog, 'snowflake');

export function recordRefreshSql(relation: string, e: RefreshLogEntry): Statement {
  const ts = (v: string, c: string) => toDbTimestamp(v, c, e.refresh_id);
  const source = LOG_COLUMNS.map(
    (c, i) => `${castBind(`column${i + 1}`, LOG_TYPES[c] ?? 'VARCHAR')} AS ${c}`,
  ).join(', ');
  const names = [...LOG_COLUMNS];
  return {
    sql:
      `MERGE INTO ${relation} t USING (SELECT ${source} FROM VALUES ${valuesList(1, names.length)}) s` +
      ` ON t.refresh_id = s.refresh_id` +
      ` WHEN NOT MATCHED THEN INSERT (${names.join(', ')}) VALUES (${names.map((c) => `s.${c}`).join(', ')})`,
    binds: [
      e.refresh_id,
      ts(e.started_at, 'started_at'),
      ts(e.finished_at, 'finished_at'),
      e.success,
      Math.round(e.duration_ms),
      e.rows_affected,
      e.model_rows,
      e.requests,
      e.error === null ? null : e.error.slice(0, 4000),
      e.workflow_id,
    ],
  };
}
