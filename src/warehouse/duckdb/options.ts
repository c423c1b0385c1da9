/**
 * The options of DuckDbWarehouse (warehouse.ts), their defaults and its stats.
 */
import type { BatchObserver, CommitDelay } from '../batch-writer';
import type { PreparedRow } from '../rows';
import type { WarehouseLogger, WarehouseStats } from '../types';
import type { HoldPolicy } from './connection';

export interface DuckDbWarehouseOptions {
  /** Database file. Resolved against the cwd. */
  path: string;
  /** Longest total wait for another process's lock before WarehouseBusyError. Default 30 000. */
  lockTimeoutMs?: number;
  /** Most rows per batch (and per INSERT statement). Default 500. */
  maxBatchRows?: number;
  /** How long state writes keep the file open (connection.ts). Default DEFAULT_HOLD. */
  hold?: HoldPolicy;
  logger?: WarehouseLogger;
  /** Sees every state write batch (metrics). */
  onBatch?: BatchObserver;
  /**
   * Group commit under load (batch-writer.ts); `null` writes every batch at once. Default
   * DEFAULT_COMMIT_DELAY.
   */
  commitDelay?: GroupCommit | null;
  /**
   * After `pendingRequests` found none, answer none without opening the file while the file and
   * its write-ahead log are unchanged, for at most this long. Default DEFAULT_QUIET_RECHECK_MS;
   * `0` reads every time.
   */
  quietRecheckMs?: number;
}

export interface DuckDbWarehouseStats extends WarehouseStats {
  /** Successful opens of the database file. */
  opens: number;
  /** Open attempts that failed on another process's lock and were retried. */
  lockRetries: number;
  /** Operations that gave up with WarehouseBusyError. */
  busyErrors: number;
  /** Upsert statements prepared (once per batch size while the file stays open, statements.ts). */
  prepares: number;
  /** Batches that waited for more rows (group commit, DEFAULT_COMMIT_DELAY). */
  delayedBatches: number;
  /** `pendingRequests` answered without opening the file (nothing written since an empty read). */
  quietPasses: number;
}

export const DEFAULT_MAX_BATCH_ROWS = 500;

/** When a batch waits for more rows: while this many executions wrote in the window. */
export type GroupCommit = Omit<CommitDelay<PreparedRow>, 'keyOf'>;

/**
 * An upsert statement costs DuckDB ~15 ms of CPU for one row and ~25 ms for ten
 * (`make bench-warehouse`), so while several executions are writing at once a batch waits 100 ms
 * to gather more rows; the writes of an execution running alone (one execution in the window)
 * never wait (docs/performance-log.md, change 14).
 */
export const DEFAULT_COMMIT_DELAY: GroupCommit = { ms: 100, siblings: 4, windowMs: 250 };

/**
 * How long an empty request table is trusted while its file looks unchanged. A commit by any process
 * changes the file's or its log's size or times, so the mark alone would do; the full read this
 * often bounds what a change the file system's coarse timestamps missed could cost: a request
 * started this much later, never lost (the dispatcher's idle cost: docs/configuration.md).
 */
export const DEFAULT_QUIET_RECHECK_MS = 30_000;
