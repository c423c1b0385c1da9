/**
 * The Snowflake warehouse: `SnowflakeWarehouse`, the `Warehouse` on snowflake-sdk, with the same
 * semantics as the DuckDB one (docs/design.md, decisions 1 and 6): tables created and migrated by
 * `init()` from their one definition (../tables.ts) in SNOWFLAKE_DATABASE.SNOWFLAKE_SCHEMA; upserts
 * coalesced across concurrent callers (../batch-writer.ts) into one guarded MERGE per batch
 * (codec.ts); the request table and the refresh log (requests.ts). Sessions, their failures and the
 * driver's log: session.ts. Several workers may write the same tables at once: the MERGE's guard
 * keeps every row moving forward, and there is no single-writer file, so `withLease` just runs `fn`.
 */
import type { StateRow } from '../../policy/state';
import { BatchWriter, type BatchObserver } from '../batch-writer';
import { latestPerExecution } from '../guard';
import { prepareRow, type BindValue, type PreparedRow } from '../rows';
import {
  addMissingColumnsSql,
  createTableSql,
  REFRESH_LOG_TABLE,
  REQUESTS_TABLE,
  STATE_TABLE,
  TABLES,
} from '../tables';
import type {
  ExecutionRequest,
  RefreshLogEntry,
  RequestOutcome,
  Warehouse,
  WarehouseLogger,
  WarehouseStats,
} from '../types';
import { fromRow, mergeSql, SELECT_LIST } from './codec';
import { qualifiedName, type SnowflakeSettings } from './config';
import { markRequestsSql, pendingRequestsSql, recordRefreshSql, requestFromRow } from './requests';
import { SnowflakeSessions, type SessionStats } from './session';

export interface SnowflakeWarehouseOptions {
  settings: SnowflakeSettings;
  /** Names this process's part in every statement's QUERY_TAG (`policy-execution:<component>`). */
  component: string;
  /** Most rows per MERGE. Default 200. */
  maxBatchRows?: number;
  logger?: WarehouseLogger;
  /** Sees every state write batch (metrics). */
  onBatch?: BatchObserver;
}

export interface SnowflakeWarehouseStats extends WarehouseStats, SessionStats {
  /** Milliseconds spent in MERGE statements of state rows (sum, and the slowest). */
  mergeMs: number;
  maxMergeMs: number;
}

export const DEFAULT_SNOWFLAKE_BATCH_ROWS = 200;
const DEFAULT_LIST_LIMIT = 100;
const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function nonNegativeInt(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`limit must be a non-negative integer`);
  return limit;
}

export class SnowflakeWarehouse implements Warehouse {
  readonly settings: SnowflakeSettings;
  private readonly sessions: SnowflakeSessions;
  private readonly maxBatchRows: number;
  private readonly writer: BatchWriter<PreparedRow>;
  private readonly counters = { statements: 0, mergeMs: 0, maxMergeMs: 0 };
  private initialized: Promise<void> | null = null;
  private closed = false;

  constructor(opts: SnowflakeWarehouseOptions) {
    this.settings = opts.settings;
    this.maxBatchRows = Math.max(1, Math.floor(opts.maxBatchRows ?? DEFAULT_SNOWFLAKE_BATCH_ROWS));
    this.sessions = new SnowflakeSessions(opts.settings, opts.component, opts.logger);
    this.writer = new BatchWriter<PreparedRow>({
      maxBatchRows: this.maxBatchRows,
      write: (take) => this.writeBatch(take),
      onBatch: opts.onBatch,
      onError: (err, calls) =>
        opts.logger?.warn('snowflake state upsert failed', { calls, error: String(err) }),
    });
  }

  /** The qualified name of one of the project's tables. */
  relation(table: string): string {
    return qualifiedName(this.settings, table);
  }

  stats(): SnowflakeWarehouseStats {
    return { ...this.counters, ...this.writer.stats(), ...this.sessions.stats() };
  }

  init(): Promise<void> {
    if (this.closed) return Promise.reject(this.closedError());
    return this.ensureInit();
  }

  private ensureInit(): Promise<void> {
    if (!this.initialized) {
      this.initialized = this.sessions.run('init (creating the tables)', async (connection) => {
        for (const spec of Object.values(TABLES)) {
          const relation = this.relation(spec.name);
          await this.sessions.query(connection, createTableSql(spec, 'snowflake', relation));
          const existing = await this.sessions.query(
            connection,
            `SELECT LOWER(column_name) FROM ${this.settings.database}.information_schema.columns
              WHERE table_schema = UPPER(?) AND table_name = UPPER(?)`,
            [this.settings.schema, spec.name],
          );
          const names = new Set(existing.map(([name]) => String(name)));
          for (const alter of addMissingColumnsSql(spec, 'snowflake', names, relation))
            await this.sessions.query(connection, alter);
        }
      });
      // A failed init (e.g. the network) is retried by the next call.
      this.initialized.catch(() => {
        this.initialized = null;
      });
    }
    return this.initialized;
  }

  async upsertStates(rows: readonly StateRow[]): Promise<void> {
    this.assertOpen();
    // Validate and convert before queueing, so a bad row fails its own caller, not the whole batch.
    const prepared = rows.map(prepareRow);
    await this.writer.submit(prepared, () => this.ensureInit());
  }

  async getState(executionId: string): Promise<StateRow | null> {
    const rows = await this.read(
      'getState',
      `SELECT ${SELECT_LIST} FROM ${this.relation(STATE_TABLE)} WHERE execution_id = ?`,
      [executionId],
    );
    return rows[0] ? fromRow(rows[0]) : null;
  }

  async listStates(opts: { limit?: number } = {}): Promise<StateRow[]> {
    this.assertOpen();
    const limit = nonNegativeInt(opts.limit ?? DEFAULT_LIST_LIMIT);
    const rows = await this.read(
      'listStates',
      `SELECT ${SELECT_LIST} FROM ${this.relation(STATE_TABLE)} ORDER BY start_time DESC, execution_id LIMIT ${limit}`,
    );
    return rows.map(fromRow);
  }

  async statesOfWorkflows(workflowIds: readonly string[]): Promise<StateRow[]> {
    this.assertOpen();
    if (workflowIds.length === 0) return [];
    const rows = await this.read(
      'statesOfWorkflows',
      `SELECT ${SELECT_LIST} FROM ${this.relation(STATE_TABLE)}
        WHERE workflow_id IN (${workflowIds.map(() => '?').join(', ')})`,
      [...workflowIds],
    );
    return rows.map(fromRow);
  }

  async pendingRequests(limit = 100): Promise<ExecutionRequest[]> {
    this.assertOpen();
    const s = pendingRequestsSql(this.relation(REQUESTS_TABLE), nonNegativeInt(limit));
    return (await this.read('pendingRequests', s.sql, s.binds)).map(requestFromRow);
  }

  async markRequests(outcomes: readonly RequestOutcome[]): Promise<void> {
    this.assertOpen();
    if (outcomes.length === 0) return;
    await this.ensureInit();
    const statements = markRequestsSql(this.relation(REQUESTS_TABLE), outcomes, new Date());
    await this.sessions.run(`markRequests (${outcomes.length})`, async (connection) => {
      for (const s of statements) await this.sessions.query(connection, s.sql, s.binds);
    });
  }

  async recordRefresh(entry: RefreshLogEntry): Promise<void> {
    this.assertOpen();
    await this.ensureInit();
    const s = recordRefreshSql(this.relation(REFRESH_LOG_TABLE), entry);
    await this.sessions.run('recordRefresh', (connection) => this.sessions.query(connection, s.sql, s.binds));
  }

  /** Row count of a table in SNOWFLAKE_DATABASE.SNOWFLAKE_SCHEMA, or null if it does not exist. */
  async countRows(table: string): Promise<number | null> {
    this.assertOpen();
    if (!TABLE_NAME.test(table)) throw new Error(`not a table name: ${table}`);
    return this.sessions.run(`countRows(${table})`, async (connection) => {
      const exists = await this.sessions.query(
        connection,
        `SELECT COUNT(*) FROM ${this.settings.database}.information_schema.tables
          WHERE table_schema = UPPER(?) AND table_name = UPPER(?)`,
        [this.settings.schema, table],
      );
      if (Number(exists[0]?.[0] ?? 0) === 0) return null;
      const rows = await this.sessions.query(connection, `SELECT COUNT(*) FROM ${this.relation(table)}`);
      return Number(rows[0]?.[0] ?? 0);
    });
  }

  /** No single-writer file on Snowflake: dbt and the worker write at the same time. */
  withLease<T>(fn: () => Promise<T>): Promise<T> {
    this.assertOpen();
    return fn();
  }

  /** Waits for queued writes, then logs the pool's sessions out. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writer.drain();
    await this.sessions.close();
  }

  // -------------------------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed) throw this.closedError();
  }

  private closedError(): Error {
    return new Error(`SnowflakeWarehouse(${this.relation('*')}) is closed`);
  }

  private async read(what: string, sql: string, binds: BindValue[] = []): Promise<unknown[][]> {
    this.assertOpen();
    await this.ensureInit();
    return this.sessions.run(what, (connection) => this.sessions.query(connection, sql, binds));
  }

  /** One session for the batch; MERGEs of at most maxBatchRows de-duplicated rows each. */
  private writeBatch(take: () => PreparedRow[]): Promise<number> {
    let rows: PreparedRow[] | null = null;
    return this.sessions.run('upsert of state rows', async (connection) => {
      // Take the rows once a session is ready: writes that arrived meanwhile join the batch. A retry
      // on a fresh session (expired session) writes the same rows.
      rows ??= latestPerExecution(take());
      const relation = this.relation(STATE_TABLE);
      for (let i = 0; i < rows.length; i += this.maxBatchRows) {
        const chunk = rows.slice(i, i + this.maxBatchRows);
        const started = Date.now();
        await this.sessions.query(
          connection,
          mergeSql(chunk.length, relation),
          chunk.flatMap((r) => r.params),
        );
        const ms = Date.now() - started;
        this.counters.statements += 1;
        this.counters.mergeMs += ms;
        this.counters.maxMergeMs = Math.max(this.counters.maxMergeMs, ms);
      }
      return rows.length;
    });
  }
}
