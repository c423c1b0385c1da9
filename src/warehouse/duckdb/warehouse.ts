/**
 * The embedded DuckDB warehouse (docs/design.md, decision 6): `DuckDbWarehouse`, the `Warehouse` for
 * one database file. Its SQL is beside it: the state table's reads and the schema in reads.ts, the
 * request table and the refresh log in requests.ts, the upsert in codec.ts, prepared in
 * statements.ts. Every operation goes through `withDuckDb` (connection.ts). State writes hold the
 * file open while they keep coming and give it up when they pause, when another of our processes
 * waits for it, or when dbt takes the lease (lease.ts); other operations use the held file or open
 * it for themselves.
 *
 * Upserts are batched (../batch-writer.ts): calls that arrive while the file is in use are queued and
 * coalesced into the next batch, written with one `INSERT ... ON CONFLICT DO UPDATE ... WHERE newer`
 * statement (codec.ts). Reads, the dispatcher's request table, the refresh log and the lease that
 * keeps every writer off the file while the worker's own dbt run uses it are here too.
 */
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { StateRow } from '../../policy/state';
import { BatchWriter } from '../batch-writer';
import { latestPerExecution } from '../guard';
import { prepareRow, toDbTimestamp, type PreparedRow } from '../rows';
import {
  WarehouseBusyError,
  type ExecutionRequest,
  type RefreshLogEntry,
  type RequestOutcome,
  type Warehouse,
  type WarehouseLogger,
} from '../types';
import { upsertSql } from './codec';
import { fileMark } from './file-mark';
import {
  closeHeldNow,
  DEFAULT_HOLD,
  DEFAULT_LOCK_TIMEOUT_MS,
  releaseHeld,
  runInTransaction,
  serialize,
  withDuckDb,
  type HoldPolicy,
  type WithDuckDbOptions,
} from './connection';
import { takeLease } from './lease';
import {
  DEFAULT_COMMIT_DELAY,
  DEFAULT_MAX_BATCH_ROWS,
  DEFAULT_QUIET_RECHECK_MS,
  type DuckDbWarehouseOptions,
  type DuckDbWarehouseStats,
} from './options';
import {
  countTableRows,
  ensureTables,
  selectLatestStates,
  selectState,
  selectStatesOfWorkflows,
} from './reads';
import { insertRefresh, markOutcomes, selectPendingRequests } from './requests';
import { runPrepared } from './statements';

const DEFAULT_LIST_LIMIT = 100;

export class DuckDbWarehouse implements Warehouse {
  readonly path: string;
  private readonly lockTimeoutMs: number;
  private readonly maxBatchRows: number;
  private readonly hold: HoldPolicy;
  private readonly logger: WarehouseLogger | undefined;
  private readonly quietRecheckMs: number;
  private readonly counters = {
    opens: 0,
    statements: 0,
    prepares: 0,
    lockRetries: 0,
    busyErrors: 0,
    quietPasses: 0,
  };
  /** After a read found no pending request: the file as it was just before that read, and when. */
  private quiet: { mark: string; at: number } | null = null;
  private readonly writer: BatchWriter<PreparedRow>;
  private initialized: Promise<void> | null = null;
  private closed = false;

  constructor(opts: DuckDbWarehouseOptions) {
    if (!opts.path || opts.path === ':memory:') {
      throw new Error('DuckDbWarehouse needs a database file path (an in-memory database would not persist)');
    }
    this.path = path.resolve(opts.path);
    this.lockTimeoutMs = opts.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
    this.maxBatchRows = Math.max(1, Math.floor(opts.maxBatchRows ?? DEFAULT_MAX_BATCH_ROWS));
    this.hold = opts.hold ?? DEFAULT_HOLD;
    this.logger = opts.logger;
    this.quietRecheckMs = Math.max(0, opts.quietRecheckMs ?? DEFAULT_QUIET_RECHECK_MS);
    const commitDelay = opts.commitDelay === undefined ? DEFAULT_COMMIT_DELAY : opts.commitDelay;
    this.writer = new BatchWriter<PreparedRow>({
      maxBatchRows: this.maxBatchRows,
      write: (take) => this.writeBatch(take),
      onBatch: opts.onBatch,
      ...(commitDelay
        ? { commitDelay: { ...commitDelay, keyOf: (row: PreparedRow) => row.executionId } }
        : {}),
      onError: (err, calls) => {
        if (err instanceof WarehouseBusyError) return;
        this.logger?.warn('duckdb state upsert failed', { file: this.path, calls, error: String(err) });
      },
    });
  }

  stats(): DuckDbWarehouseStats {
    return { ...this.counters, ...this.writer.stats() };
  }

  init(): Promise<void> {
    if (this.closed) return Promise.reject(this.closedError());
    return this.ensureInit();
  }

  private ensureInit(): Promise<void> {
    if (!this.initialized) {
      this.initialized = this.run(ensureTables);
      // A failed init (e.g. busy) is retried by the next call.
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
    this.assertOpen();
    await this.ensureInit();
    return this.read((connection) => selectState(connection, executionId));
  }

  async listStates(opts: { limit?: number } = {}): Promise<StateRow[]> {
    this.assertOpen();
    const limit = opts.limit ?? DEFAULT_LIST_LIMIT;
    if (!Number.isSafeInteger(limit) || limit < 0)
      throw new RangeError(`limit must be a non-negative integer`);
    await this.ensureInit();
    return this.read((connection) => selectLatestStates(connection, limit));
  }

  async statesOfWorkflows(workflowIds: readonly string[]): Promise<StateRow[]> {
    this.assertOpen();
    if (workflowIds.length === 0) return [];
    await this.ensureInit();
    return this.read((connection) => selectStatesOfWorkflows(connection, workflowIds));
  }

  async pendingRequests(limit = 100): Promise<ExecutionRequest[]> {
    this.assertOpen();
    if (!Number.isSafeInteger(limit) || limit < 0)
      throw new RangeError(`limit must be a non-negative integer`);
    await this.ensureInit();
    // An idle dispatcher asks every second: while no process has written the file since a read
    // found nothing, nothing can be pending, and the answer needs no open (options.ts).
    // Marked before the read: a write that lands during or after it changes the mark.
    const mark = fileMark(this.path);
    const at = Date.now();
    const quiet = this.quiet;
    if (quiet && at - quiet.at < this.quietRecheckMs && mark === quiet.mark) {
      this.counters.quietPasses += 1;
      return [];
    }
    this.quiet = null;
    const requests = await this.read((connection) => selectPendingRequests(connection, limit));
    if (requests.length === 0 && limit > 0) this.quiet = { mark, at };
    return requests;
  }

  async markRequests(outcomes: readonly RequestOutcome[]): Promise<void> {
    this.assertOpen();
    if (outcomes.length === 0) return;
    await this.ensureInit();
    const now = toDbTimestamp(new Date().toISOString(), 'dispatched_at', 'dispatcher');
    await this.run((connection) => markOutcomes(connection, outcomes, now));
  }

  async recordRefresh(entry: RefreshLogEntry): Promise<void> {
    this.assertOpen();
    await this.ensureInit();
    await this.run((connection) => insertRefresh(connection, entry));
  }

  /** Row count of a table (or null if it does not exist), e.g. policy_execution_model after a refresh. */
  async countRows(table: string): Promise<number | null> {
    this.assertOpen();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(table)) throw new Error(`not a table name: ${table}`);
    return this.read((connection) => countTableRows(connection, table));
  }

  /**
   * Runs `fn` (the worker's dbt run) holding the warehouse lease: this process closes the file and
   * queues its own operations, and every other writer (another worker) stays off it until `fn`
   * settles.
   */
  withLease<T>(fn: () => Promise<T>): Promise<T> {
    this.assertOpen();
    return serialize(this.path, async () => {
      closeHeldNow(this.path);
      const release = await takeLease(
        this.path,
        `policy-execution worker ${process.pid} (dbt run)`,
        this.lockTimeoutMs * 20,
      );
      try {
        return await fn();
      } finally {
        release();
      }
    });
  }

  /** Waits for queued writes, then closes the file if this process holds it. */
  async close(): Promise<void> {
    this.closed = true;
    await this.writer.drain();
    await releaseHeld(this.path);
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

  private async run<T>(
    fn: (connection: DuckDBConnection) => Promise<T>,
    how: { readOnly?: boolean; hold?: boolean; transaction?: boolean } = {},
  ): Promise<T> {
    try {
      return await withDuckDb(this.path, fn, {
        ...this.options(how.readOnly),
        hold: how.hold ? this.hold : undefined,
        transaction: how.transaction,
      });
    } catch (err) {
      if (err instanceof WarehouseBusyError) this.counters.busyErrors += 1;
      throw err;
    }
  }

  private read<T>(fn: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    return this.run(fn, { readOnly: true });
  }

  /**
   * One serialized open (or the held file) for the writes at the head of the queue: one upsert
   * statement, autocommitted, when they fit in one (a batch of more than `maxBatchRows` rows is one
   * transaction); the statement is prepared once per batch size while the file stays open
   * (statements.ts).
   */
  private async writeBatch(take: () => PreparedRow[]): Promise<number> {
    return this.run(
      async (connection) => {
        // Take the batch only once the file is open: writes queued while we waited for the lock
        // (or for this process's previous operation) join this batch.
        const rows = latestPerExecution(take());
        const chunks = Math.ceil(rows.length / this.maxBatchRows);
        await runInTransaction(
          connection,
          async () => {
            for (let i = 0; i < rows.length; i += this.maxBatchRows) {
              const chunk = rows.slice(i, i + this.maxBatchRows);
              const { prepared } = await runPrepared(
                connection,
                upsertSql(chunk.length),
                chunk.flatMap((r) => r.params),
              );
              this.counters.statements += 1;
              if (prepared) this.counters.prepares += 1;
            }
          },
          chunks > 1,
        );
        return rows.length;
      },
      { hold: true, transaction: false },
    );
  }
}
