/**
 * Opening the embedded DuckDB file (docs/design.md, decision 6).
 *
 * DuckDB allows ONE writing process per database file, and the worker, `dbt run` and
 * `dbt run-operation` all use the same file. An operation (`withDuckDb`) opens the file, does its
 * work in one transaction and, by default, closes it again, which releases the OS file lock. The
 * worker's state writes ask to `hold` it instead: the file stays open while writes keep coming (an
 * open and a close cost ~10x a write) and is closed when they pause (`idleMs`), when it has been held
 * `maxHoldMs`, when another of our processes is waiting for it, or when someone takes the lease
 * (lease.ts: every dbt invocation does). An open that fails because another process holds the lock is
 * retried with jittered backoff for a bounded time, then fails with WarehouseBusyError. Within a
 * process all access to one file goes through one serial queue, so there is never more than one
 * DuckDBInstance open per file.
 */
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { WarehouseBusyError, type WarehouseLogger } from '../types';
import { announceWant, leasedByOther, wantedByOther, withdrawWant } from './lease';

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
  /** Keep the file open after `fn` (see the module comment); the default closes it. */
  hold?: HoldPolicy;
}

/** How long a held file stays open. */
export interface HoldPolicy {
  /** Close after this long without an operation. */
  idleMs: number;
  /** Close (and pause `yieldMs` before reopening) once held this long, so others get a turn. */
  maxHoldMs: number;
  yieldMs: number;
}

/**
 * idleMs and maxHoldMs are a backstop for a process that retries the lock without announcing it
 * (ours announce it, and dbt takes the lease, both of which close the file at once): every close
 * checkpoints the file, ~80 ms of CPU that blocks the worker's main thread, and the next write pays a
 * reopen, so closing after 200 ms idle and every 2 s cost ~5 % of the worker's CPU under steady
 * writes and a reopen in every execution that runs alone (docs/performance-log.md, change 10).
 */
export const DEFAULT_HOLD: HoldPolicy = { idleMs: 1_000, maxHoldMs: 10_000, yieldMs: 50 };

export const DEFAULT_LOCK_TIMEOUT_MS = 30_000;
const BACKOFF_START_MS = 20;
const BACKOFF_CAP_MS = 500;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The file is leased by another process (lease.ts): wait as for a lock. */
class LeasedError extends Error {}

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
  // One DuckDB thread: the state writes are one small statement at a time, and a second thread only
  // adds scheduling for them on a machine whose cores the worker's own threads already use.
  const options: Record<string, string> = { threads: '1' };
  if (opts.readOnly) options.access_mode = 'READ_ONLY';
  let attempt = 0;
  for (;;) {
    try {
      const lease = leasedByOther(file);
      if (lease) throw new LeasedError(`${file} is leased by ${lease.holder} (pid ${lease.pid})`);
      // Not the instance cache: the instance must really close (and drop the lock) afterwards.
      const instance = await DuckDBInstance.create(file, options);
      if (attempt > 0) withdrawWant(file);
      return { instance, retries: attempt, waitedMs: Date.now() - started };
    } catch (err) {
      if (!(err instanceof LeasedError) && !isLockConflictError(err)) throw err;
      if (!(err instanceof LeasedError)) announceWant(file);
      const waitedMs = Date.now() - started;
      const message = err instanceof Error ? err.message : String(err);
      if (waitedMs >= timeoutMs) {
        withdrawWant(file);
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

// ---------------------------------------------------------------------------------------------------
// The file this process holds open (at most one instance per file).

interface Held {
  instance: DuckDBInstance;
  connection: DuckDBConnection;
  openedAt: number;
  policy: HoldPolicy;
  idleTimer: NodeJS.Timeout | null;
}

const held = new Map<string, Held>();

function closeHeld(file: string): void {
  const h = held.get(file);
  if (!h) return;
  held.delete(file);
  if (h.idleTimer) clearTimeout(h.idleTimer);
  h.connection.closeSync();
  h.instance.closeSync();
}

/** Closes `file` (an absolute path) now if this process holds it; only from inside `serialize(file)`. */
export function closeHeldNow(file: string): void {
  closeHeld(file);
}

/** Closes `file` if this process holds it (after the operations queued for it). */
export function releaseHeld(file: string): Promise<void> {
  const resolved = path.resolve(file);
  return serialize(resolved, () => Promise.resolve(closeHeld(resolved)));
}

/** Why a held file must be given up before the next operation: leased, wanted, held too long. */
function mustRelease(file: string, h: Held): 'lease' | 'turn' | null {
  if (leasedByOther(file)) return 'lease';
  if (Date.now() - h.openedAt >= h.policy.maxHoldMs || wantedByOther(file)) return 'turn';
  return null;
}

function armIdleClose(file: string, h: Held): void {
  h.idleTimer = setTimeout(() => {
    void serialize(file, () => {
      if (held.get(file) === h && h.idleTimer) closeHeld(file);
      return Promise.resolve();
    });
  }, h.policy.idleMs);
  h.idleTimer.unref();
}

/** Run `fn` in BEGIN / COMMIT (ROLLBACK on error) when `transaction`, else as it is. */
export async function runInTransaction<T>(
  connection: DuckDBConnection,
  fn: (connection: DuckDBConnection) => Promise<T>,
  transaction: boolean,
): Promise<T> {
  if (!transaction) return fn(connection);
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
}

/**
 * Open `file` (or use the open one this process holds), run `fn` with a connection (in one
 * transaction unless `transaction: false`), then close the file — or, with `hold`, keep it open as
 * the module comment says. Lock conflicts with other processes are retried with jittered backoff up
 * to `lockTimeoutMs`, then WarehouseBusyError. Calls for the same file are serialized within this
 * process; do not call withDuckDb for the same file from inside `fn` (it would wait for itself).
 */
export function withDuckDb<T>(
  file: string,
  fn: (connection: DuckDBConnection) => Promise<T>,
  opts: WithDuckDbOptions = {},
): Promise<T> {
  const resolved = path.resolve(file);
  return serialize(resolved, async () => {
    let h = held.get(resolved);
    if (h) {
      if (h.idleTimer) clearTimeout(h.idleTimer);
      h.idleTimer = null;
      const why = mustRelease(resolved, h);
      if (why) {
        const yieldMs = h.policy.yieldMs;
        closeHeld(resolved);
        h = undefined;
        // Give the process that asked (or another of ours) a moment to take its turn.
        if (why === 'turn') await sleep(yieldMs);
      }
    }
    let connection: DuckDBConnection;
    let oneShot: DuckDBInstance | null = null;
    if (h) connection = h.connection;
    else {
      const readOnly = opts.readOnly === true && !opts.hold;
      const { instance, retries, waitedMs } = await openWithRetry(resolved, { ...opts, readOnly });
      try {
        connection = await instance.connect();
      } catch (err) {
        instance.closeSync();
        throw err;
      }
      opts.onOpen?.({ retries, waitedMs });
      if (opts.hold) {
        h = { instance, connection, openedAt: Date.now(), policy: opts.hold, idleTimer: null };
        held.set(resolved, h);
      } else oneShot = instance;
    }
    let failed = false;
    try {
      return await runInTransaction(connection, fn, opts.transaction !== false);
    } catch (err) {
      failed = true;
      throw err;
    } finally {
      if (oneShot) {
        connection.closeSync();
        oneShot.closeSync();
      } else if (h) {
        if (failed) closeHeld(resolved);
        else armIdleClose(resolved, h);
      }
    }
  });
}
