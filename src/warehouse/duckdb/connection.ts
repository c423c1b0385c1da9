/**
 * Opening the embedded DuckDB file (docs/design.md, decision 6).
 *
 * DuckDB allows ONE writing process per database file, and the worker, `dbt run` and
 * `dbt run-operation` all use the same file. So nothing here keeps the file open between
 * operations: every operation (`withDuckDb`) opens the file, does its work in one transaction and
 * closes it again, which releases the OS file lock. An open that fails because another process holds
 * the lock is retried with jittered backoff for a bounded time, then fails with WarehouseBusyError.
 * Within a process all access to one file goes through one serial queue, so there is never more than
 * one DuckDBInstance open per file.
 */
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { WarehouseBusyError, type WarehouseLogger } from '../types';

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
const BACKOFF_START_MS = 20;
const BACKOFF_CAP_MS = 500;

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

/** Runs `task` after every earlier task queued for `file` (an absolute path) has settled. */
export function serialize<T>(file: string, task: () => Promise<T>): Promise<T> {
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
