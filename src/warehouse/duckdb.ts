/**
 * The embedded DuckDB warehouse (design.md §6).
 *
 * DuckDB allows ONE writing process per database file, and the worker, `dbt run` and
 * `dbt run-operation` all use the same file. So this adapter never keeps the file open between
 * operations: every operation (init, one batch of upserts, one read) opens the file, does its work
 * in one transaction and closes it again, which releases the OS file lock. An open that fails
 * because another process holds the lock is retried with jittered backoff for a bounded time, then
 * fails with WarehouseBusyError.
 *
 * Upserts are batched: calls that arrive while the file is in use are queued and coalesced into the
 * next batch, written with one `INSERT ... ON CONFLICT DO UPDATE ... WHERE newer` statement (one
 * open, one statement, one close for many rows). Within a process all access to one file goes
 * through one serial queue, so there is never more than one DuckDBInstance open per file.
 */
import path from 'node:path';
import { DuckDBConnection, DuckDBInstance, type DuckDBValue } from '@duckdb/node-api';
import { JSON_COLUMNS, STATE_COLUMNS, type JsonValue, type StateRow } from '../policy/state';
import { DUCKDB_DDL, DUCKDB_STATE_COLUMN_TYPES, REFRESH_LOG_TABLE, REQUESTS_TABLE, STATE_TABLE } from './ddl';
import {
  WarehouseBusyError,
  type ExecutionRequest,
  type RefreshLogEntry,
  type RequestOutcome,
  type Warehouse,
} from './types';

/** Structured logger; compatible with Temporal's `Logger` and a console wrapper. */
export interface WarehouseLogger {
  debug(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
}

export interface DuckDbWarehouseOptions {
  /** Database file. Resolved against the cwd. */
  path: string;
  /** Longest total wait for another process's lock before WarehouseBusyError. Default 30 000. */
  lockTimeoutMs?: number;
  /** Most rows per batch (and per INSERT statement). Default 500. */
  maxBatchRows?: number;
  logger?: WarehouseLogger;
}

export interface DuckDbWarehouseStats {
  /** Successful opens of the database file. */
  opens: number;
  /** INSERT ... ON CONFLICT statements executed. */
  statements: number;
  /** Committed write batches. */
  batches: number;
  /** Rows sent in committed batches (after de-duplication; includes rows the version guard skipped). */
  rowsWritten: number;
  /** Open attempts that failed on another process's lock and were retried. */
  lockRetries: number;
  /** Operations that gave up with WarehouseBusyError. */
  busyErrors: number;
}

export interface WithDuckDbOptions {
  /** Default 30 000. */
  lockTimeoutMs?: number;
  /** Open read-only. Still conflicts with another process's write lock (and retries the same way). */
  readOnly?: boolean;
  /** Wrap `fn` in BEGIN / COMMIT (ROLLBACK on error). Default true. */
  transaction?: boolean;
  logger?: WarehouseLogger;
  /** Called after each successful open, with how long the open waited on locks. */
  onOpen?: (info: { retries: number; waitedMs: number }) => void;
  /** Called for each failed open attempt that will be retried. */
  onLockRetry?: (info: { attempt: number; waitedMs: number; message: string }) => void;
}

export const DEFAULT_LOCK_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_BATCH_ROWS = 500;
const BACKOFF_START_MS = 20;
const BACKOFF_CAP_MS = 500;
const DEFAULT_LIST_LIMIT = 100;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** True for DuckDB's "another process holds this file" error. */
export function isLockConflictError(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return message.includes('Could not set lock') || message.includes('Conflicting lock');
}

// ---------------------------------------------------------------------------------------------------
// Per-file serial queue (module level, so two adapters or a withDuckDb caller on the same file in one
// process never have two DuckDBInstances open on it at once).

const fileQueues = new Map<string, Promise<unknown>>();

function serialize<T>(file: string, task: () => Promise<T>): Promise<T> {
  const previous = fileQueues.get(file) ?? Promise.resolve();
  const run = previous.then(task, task);
  const tail = run.then(
    () => undefined,
    () => undefined,
  );
  fileQueues.set(file, tail);
  void tail.then(() => {
    if (fileQueues.get(file) === tail) fileQueues.delete(file);
  });
  return run;
}

async function openWithRetry(
  file: string,
  opts: WithDuckDbOptions,
): Promise<{ instance: DuckDBInstance; retries: number; waitedMs: number }> {
  const timeoutMs = opts.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const started = Date.now();
  const options = opts.readOnly ? { access_mode: 'READ_ONLY' } : undefined;
  let attempt = 0;
  for (;;) {
    try {
      // Not the instance cache: the instance must really close (and drop the lock) afterwards.
      const instance = await DuckDBInstance.create(file, options);
      return { instance, retries: attempt, waitedMs: Date.now() - started };
    } catch (err) {
      if (!isLockConflictError(err)) throw err;
      const waitedMs = Date.now() - started;
      const message = err instanceof Error ? err.message : String(err);
      if (waitedMs >= timeoutMs) {
        opts.logger?.warn('duckdb file stayed locked; giving up', { file, waitedMs, timeoutMs, message });
        throw new WarehouseBusyError(
          `DuckDB file ${file} is locked by another process; gave up after waiting ${waitedMs} ms ` +
            `(lockTimeoutMs ${timeoutMs}). Last error: ${message}`,
          { cause: err },
        );
      }
      attempt += 1;
      opts.onLockRetry?.({ attempt, waitedMs, message });
      if (attempt === 1)
        opts.logger?.debug('duckdb file locked by another process; waiting', { file, message });
      const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_START_MS * 2 ** (attempt - 1));
      const delay = ceiling / 2 + Math.random() * (ceiling / 2);
      await sleep(Math.max(1, Math.min(delay, timeoutMs - waitedMs)));
    }
  }
}

/**
 * Open `file`, run `fn` with a connection (in one transaction unless `transaction: false`), then
 * close the connection and the instance so the file lock is released. Lock conflicts with other
 * processes are retried with jittered backoff up to `lockTimeoutMs`, then WarehouseBusyError.
 * Calls for the same file are serialized within this process; do not call withDuckDb for the same
 * file from inside `fn` (it would wait for itself).
 */
export function withDuckDb<T>(
  file: string,
  fn: (connection: DuckDBConnection) => Promise<T>,
  opts: WithDuckDbOptions = {},
): Promise<T> {
  const resolved = path.resolve(file);
  return serialize(resolved, async () => {
    const { instance, retries, waitedMs } = await openWithRetry(resolved, opts);
    let connection: DuckDBConnection | undefined;
    try {
      opts.onOpen?.({ retries, waitedMs });
      connection = await instance.connect();
      if (opts.transaction === false) return await fn(connection);
      await connection.run('BEGIN TRANSACTION');
      try {
        const result = await fn(connection);
        await connection.run('COMMIT');
        return result;
      } catch (err) {
        try {
          await connection.run('ROLLBACK');
        } catch {
          // The transaction may already be aborted; closing discards it anyway.
        }
        throw err;
      }
    } finally {
      connection?.closeSync();
      instance.closeSync();
    }
  });
}

// ---------------------------------------------------------------------------------------------------
// Row <-> SQL mapping

type StateColumn = (typeof STATE_COLUMNS)[number];
const JSON_SET = new Set<StateColumn>(JSON_COLUMNS);
const TIMESTAMP_COLUMNS = STATE_COLUMNS.filter((c) => DUCKDB_STATE_COLUMN_TYPES[c] === 'TIMESTAMP');
const HAS_OFFSET = /(?:Z|[+-]\d{2}(?::?\d{2})?)$/i;

/** ISO-8601 (any offset; no offset = UTC) -> naive UTC text DuckDB casts to TIMESTAMP. */
function toDbTimestamp(value: string, column: string, executionId: string): string {
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

/** SELECT list that returns every column in a shape `fromDb` maps 1:1 onto StateRow. */
const SELECT_LIST = STATE_COLUMNS.map((c) => {
  if (JSON_SET.has(c)) return `CAST(${c} AS VARCHAR) AS ${c}`;
  if ((TIMESTAMP_COLUMNS as readonly string[]).includes(c))
    return `strftime(${c}, '%Y-%m-%dT%H:%M:%S.%gZ') AS ${c}`;
  return c;
}).join(', ');

function fromDb(values: readonly DuckDBValue[]): StateRow {
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
  ` WHERE excluded.state_version > ${STATE_TABLE}.state_version`;

/** The version-guarded upsert for `rowCount` rows (exported for tests and the docs). */
export function upsertSql(rowCount: number): string {
  return UPSERT_HEAD + Array.from({ length: rowCount }, () => ROW_PLACEHOLDERS).join(', ') + UPSERT_TAIL;
}

interface Prepared {
  executionId: string;
  stateVersion: number;
  params: DuckDBValue[];
}

/** One row per execution_id, the highest state_version (the later one on a tie). */
function dedupe(rows: readonly Prepared[]): Prepared[] {
  const byId = new Map<string, Prepared>();
  for (const row of rows) {
    const seen = byId.get(row.executionId);
    if (!seen || row.stateVersion >= seen.stateVersion) byId.set(row.executionId, row);
  }
  return [...byId.values()];
}

// ---------------------------------------------------------------------------------------------------

interface PendingWrite {
  rows: Prepared[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class DuckDbWarehouse implements Warehouse {
  readonly path: string;
  private readonly lockTimeoutMs: number;
  private readonly maxBatchRows: number;
  private readonly logger: WarehouseLogger | undefined;
  private readonly counters: DuckDbWarehouseStats = {
    opens: 0,
    statements: 0,
    batches: 0,
    rowsWritten: 0,
    lockRetries: 0,
    busyErrors: 0,
  };
  private pending: PendingWrite[] = [];
  private flushing: Promise<void> | null = null;
  private readonly inflight = new Set<Promise<void>>();
  private initialized: Promise<void> | null = null;
  private closed = false;

  constructor(opts: DuckDbWarehouseOptions) {
    if (!opts.path || opts.path === ':memory:') {
      throw new Error('DuckDbWarehouse needs a database file path (an in-memory database would not persist)');
    }
    this.path = path.resolve(opts.path);
    this.lockTimeoutMs = opts.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
    this.maxBatchRows = Math.max(1, Math.floor(opts.maxBatchRows ?? DEFAULT_MAX_BATCH_ROWS));
    this.logger = opts.logger;
  }

  stats(): DuckDbWarehouseStats {
    return { ...this.counters };
  }

  init(): Promise<void> {
    if (this.closed) return Promise.reject(this.closedError());
    return this.ensureInit();
  }

  private ensureInit(): Promise<void> {
    if (!this.initialized) {
      this.initialized = this.run(async (connection) => {
        for (const ddl of DUCKDB_DDL) await connection.run(ddl);
      });
      // A failed init (e.g. busy) is retried by the next call.
      this.initialized.catch(() => {
        this.initialized = null;
      });
    }
    return this.initialized;
  }

  upsertStates(rows: readonly StateRow[]): Promise<void> {
    if (this.closed) return Promise.reject(this.closedError());
    const done = this.enqueue(rows);
    this.inflight.add(done);
    const forget = () => this.inflight.delete(done);
    done.then(forget, forget);
    return done;
  }

  private async enqueue(rows: readonly StateRow[]): Promise<void> {
    if (rows.length === 0) return;
    // Validate and convert before queueing, so a bad row fails its own caller, not the whole batch.
    const prepared = rows.map((row) => ({
      executionId: row.execution_id,
      stateVersion: row.state_version,
      params: toParams(row),
    }));
    await this.ensureInit();
    await new Promise<void>((resolve, reject) => {
      this.pending.push({ rows: prepared, resolve, reject });
      this.flushing ??= this.flushLoop();
    });
  }

  async getState(executionId: string): Promise<StateRow | null> {
    this.assertOpen();
    await this.ensureInit();
    return this.read(async (connection) => {
      const reader = await connection.runAndReadAll(
        `SELECT ${SELECT_LIST} FROM ${STATE_TABLE} WHERE execution_id = ?::VARCHAR`,
        [executionId],
      );
      const first = reader.getRows()[0];
      return first ? fromDb(first) : null;
    });
  }

  async listStates(opts: { limit?: number } = {}): Promise<StateRow[]> {
    this.assertOpen();
    const limit = opts.limit ?? DEFAULT_LIST_LIMIT;
    if (!Number.isSafeInteger(limit) || limit < 0)
      throw new RangeError(`limit must be a non-negative integer`);
    await this.ensureInit();
    return this.read(async (connection) => {
      const reader = await connection.runAndReadAll(
        `SELECT ${SELECT_LIST} FROM ${STATE_TABLE} ORDER BY start_time DESC, execution_id LIMIT ?::BIGINT`,
        [limit],
      );
      return reader.getRows().map(fromDb);
    });
  }

  async pendingRequests(limit = 100): Promise<ExecutionRequest[]> {
    this.assertOpen();
    if (!Number.isSafeInteger(limit) || limit < 0)
      throw new RangeError(`limit must be a non-negative integer`);
    await this.ensureInit();
    return this.read(async (connection) => {
      const reader = await connection.runAndReadAll(
        `SELECT request_id, CAST(policy AS VARCHAR), CAST(options AS VARCHAR),
                strftime(requested_at, '%Y-%m-%dT%H:%M:%S.%gZ'), requested_by
           FROM ${REQUESTS_TABLE}
          WHERE status = 'requested'
          ORDER BY requested_at, request_id
          LIMIT ?::BIGINT`,
        [limit],
      );
      return reader.getRows().map(([id, policy, options, at, by]) => ({
        request_id: String(id),
        policy: JSON.parse(String(policy)) as JsonValue,
        options:
          options === null || options === undefined ? null : (JSON.parse(String(options)) as JsonValue),
        requested_at: String(at),
        requested_by: by === null || by === undefined ? null : String(by),
      }));
    });
  }

  async markRequests(outcomes: readonly RequestOutcome[]): Promise<void> {
    this.assertOpen();
    if (outcomes.length === 0) return;
    await this.ensureInit();
    const now = toDbTimestamp(new Date().toISOString(), 'dispatched_at', 'dispatcher');
    await this.run(async (connection) => {
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
    });
  }

  async recordRefresh(entry: RefreshLogEntry): Promise<void> {
    this.assertOpen();
    await this.ensureInit();
    const ts = (v: string, c: string) => toDbTimestamp(v, c, entry.refresh_id);
    await this.run(async (connection) => {
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
    });
  }

  /** Row count of a table (or null if it does not exist), e.g. policy_execution_model after a refresh. */
  async countRows(table: string): Promise<number | null> {
    this.assertOpen();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(table)) throw new Error(`not a table name: ${table}`);
    return this.read(async (connection) => {
      const exists = await connection.runAndReadAll(
        `SELECT count(*) FROM information_schema.tables WHERE table_name = ?::VARCHAR`,
        [table],
      );
      if (Number(exists.getRows()[0]?.[0] ?? 0) === 0) return null;
      const reader = await connection.runAndReadAll(`SELECT count(*) FROM ${table}`);
      return Number(reader.getRows()[0]?.[0] ?? 0);
    });
  }

  /** Runs `fn` in this file's serial queue: no open of the file by this process until it settles. */
  withLease<T>(fn: () => Promise<T>): Promise<T> {
    this.assertOpen();
    return serialize(this.path, fn);
  }

  /** Waits for queued writes; the file is never held open between operations, so nothing else to release. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.inflight]);
    while (this.flushing) await this.flushing;
  }

  // -------------------------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed) throw this.closedError();
  }

  private closedError(): Error {
    return new Error(`DuckDbWarehouse(${this.path}) is closed`);
  }

  private options(readOnly = false): WithDuckDbOptions {
    return {
      lockTimeoutMs: this.lockTimeoutMs,
      readOnly,
      logger: this.logger,
      onOpen: () => {
        this.counters.opens += 1;
      },
      onLockRetry: () => {
        this.counters.lockRetries += 1;
      },
    };
  }

  private async run<T>(fn: (connection: DuckDBConnection) => Promise<T>, readOnly = false): Promise<T> {
    try {
      return await withDuckDb(this.path, fn, this.options(readOnly));
    } catch (err) {
      if (err instanceof WarehouseBusyError) this.counters.busyErrors += 1;
      throw err;
    }
  }

  private read<T>(fn: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    return this.run(fn, true);
  }

  /** Drains the queue: one serialized open / transaction / close per batch until nothing is pending. */
  private async flushLoop(): Promise<void> {
    // Let the caller store this promise in `flushing` before the loop can possibly end.
    await Promise.resolve();
    try {
      while (this.pending.length > 0) await this.writeBatch();
    } finally {
      // Cleared in the same microtask the loop saw an empty queue, so no write can be stranded.
      this.flushing = null;
    }
  }

  /** One serialized open / transaction / close for the writes at the head of the queue. */
  private async writeBatch(): Promise<void> {
    let batch: PendingWrite[] = [];
    let rowCount = 0;
    const waitingAtStart = this.pending.length;
    try {
      await this.run(async (connection) => {
        // Take the batch only once the file is open: writes queued while we waited for the lock
        // (or for this process's previous operation) join this batch.
        batch = this.takeBatch();
        const rows = dedupe(batch.flatMap((w) => w.rows));
        for (let i = 0; i < rows.length; i += this.maxBatchRows) {
          const chunk = rows.slice(i, i + this.maxBatchRows);
          await connection.run(
            upsertSql(chunk.length),
            chunk.flatMap((r) => r.params),
          );
          this.counters.statements += 1;
        }
        rowCount = rows.length;
      });
      this.counters.batches += 1;
      this.counters.rowsWritten += rowCount;
      for (const w of batch) w.resolve();
    } catch (err) {
      // If the open itself failed, nothing was taken: fail the writes that were waiting when this
      // attempt started; later arrivals get their own attempt.
      const failed = batch.length > 0 ? batch : this.pending.splice(0, waitingAtStart);
      if (!(err instanceof WarehouseBusyError)) {
        this.logger?.warn('duckdb state upsert failed', {
          file: this.path,
          rows: failed.length,
          error: String(err),
        });
      }
      for (const w of failed) w.reject(err);
    }
  }

  /** Whole calls, FIFO, up to maxBatchRows rows (always at least one call, split into statements if larger). */
  private takeBatch(): PendingWrite[] {
    const batch: PendingWrite[] = [];
    let rows = 0;
    while (this.pending.length > 0) {
      const next = this.pending[0];
      if (!next || (batch.length > 0 && rows + next.rows.length > this.maxBatchRows)) break;
      batch.push(next);
      rows += next.rows.length;
      this.pending.shift();
    }
    return batch;
  }
}
