/**
 * Sessions to Snowflake for one adapter: the driver's connection pool (`createPool`), each session
 * tagged (QUERY_TAG `policy-execution:<component>`, set at login) and set to UTC (`ALTER SESSION SET
 * TIMEZONE = 'UTC'` on its first use), statements with scalar binds and a deadline, and what happens
 * on failure (errors.ts): a broken session is evicted from the pool; an expired one is retried once
 * at once on a fresh session; the rest surfaces as WarehouseUnavailableError (retryable) or
 * WarehouseConfigError (permanent). There is no retry loop here beyond that one retry: Temporal's
 * retry policy retries the state writes.
 *
 * The driver retries a failed HTTP request by itself (up to 1000 times in 3.3.0, not configurable),
 * so every statement and every pool acquire is bounded by SNOWFLAKE_QUERY_TIMEOUT_MS: past it the
 * adapter stops waiting, evicts the session and reports the warehouse unavailable. A statement the
 * driver still delivers later is harmless: every write of this project is idempotent (guarded MERGE,
 * conditional UPDATE, insert-if-absent).
 *
 * The driver's log goes to the adapter's logger (never to `snowflake.log` in the working directory),
 * scrubbed of the configured secrets.
 */
import snowflake from 'snowflake-sdk';
import type { BindValue } from '../rows';
import type { WarehouseLogger } from '../types';
import { connectionOptions, secretsOf, type SnowflakeSettings } from './config';
import { classify, scrub, SnowflakeTimeoutError, toWarehouseError } from './errors';

export type Row = unknown[];

export interface SessionStats {
  /** Sessions opened (logins). */
  sessions: number;
  /** Sessions dropped after a failure. */
  evicted: number;
  /** Statements retried at once on a fresh session after their session expired. */
  sessionRetries: number;
}

// ---------------------------------------------------------------------------------------------------
// The driver's log is process-wide: one configuration, forwarded to every open adapter's logger.

interface LogSink {
  logger: WarehouseLogger | undefined;
  secrets: readonly string[];
}
const sinks = new Set<LogSink>();

function forward(level: 'error' | 'warn' | 'info' | 'debug' | 'trace') {
  return (message: string) => {
    for (const sink of sinks) {
      const text = `snowflake-sdk: ${scrub(message, sink.secrets)}`;
      if (level === 'error' || level === 'warn') sink.logger?.warn(text);
      else sink.logger?.debug(text);
    }
  };
}

/**
 * Routes the driver's log to the open adapters (each new adapter sets it again: the last level wins).
 * Done once when this module loads, so nothing the driver logs before an adapter exists (e.g. from
 * another connection of the process) lands in `snowflake.log`.
 */
function configureDriverLog(level: snowflake.LogLevel): void {
  snowflake.configure({
    logLevel: level,
    customLogger: {
      error: forward('error'),
      warn: forward('warn'),
      info: forward('info'),
      debug: forward('debug'),
      trace: forward('trace'),
    },
  });
}

configureDriverLog('WARN');

// ---------------------------------------------------------------------------------------------------

export class SnowflakeSessions {
  private readonly pool: ReturnType<typeof snowflake.createPool>;
  private readonly prepared = new WeakSet<snowflake.Connection>();
  private readonly sink: LogSink;
  private readonly secrets: readonly string[];
  private readonly counters: SessionStats = { sessions: 0, evicted: 0, sessionRetries: 0 };

  constructor(
    private readonly settings: SnowflakeSettings,
    component: string,
    logger?: WarehouseLogger,
  ) {
    this.secrets = secretsOf(settings);
    this.sink = { logger, secrets: this.secrets };
    sinks.add(this.sink);
    configureDriverLog(settings.logLevel);
    this.pool = snowflake.createPool(connectionOptions(settings, component), {
      max: settings.poolSize,
      min: 0,
      acquireTimeoutMillis: settings.queryTimeoutMs,
      // Idle sessions are logged out after 5 minutes (Snowflake expires them after 4 hours idle).
      idleTimeoutMillis: 300_000,
      evictionRunIntervalMillis: 60_000,
    });
  }

  stats(): SessionStats {
    return { ...this.counters };
  }

  /**
   * Runs `fn` with a session of the pool, `what` naming the operation in errors. A failure is
   * classified: an expired session is evicted and `fn` runs once more at once on a fresh one; any
   * other failure evicts the session when it may be broken and throws the adapter's error.
   */
  async run<T>(what: string, fn: (connection: snowflake.Connection) => Promise<T>): Promise<T> {
    try {
      return await this.attempt(fn);
    } catch (err) {
      const first = classify(err, this.settings, this.secrets);
      if (first.kind !== 'session') throw toWarehouseError(what, first);
      this.counters.sessionRetries += 1;
      try {
        return await this.attempt(fn);
      } catch (again) {
        throw toWarehouseError(what, classify(again, this.settings, this.secrets));
      }
    }
  }

  /** One statement on `connection` (rows as arrays, in SELECT order), bounded by the query timeout. */
  query(connection: snowflake.Connection, sqlText: string, binds: readonly BindValue[] = []): Promise<Row[]> {
    const ms = this.settings.queryTimeoutMs;
    return new Promise<Row[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new SnowflakeTimeoutError('a statement', ms)), ms);
      try {
        connection.execute({
          sqlText,
          binds: binds as snowflake.Binds,
          rowMode: 'array',
          complete: (err, _stmt, rows) => {
            clearTimeout(timer);
            if (err) reject(err);
            else resolve((rows ?? []) as Row[]);
          },
        });
      } catch (err) {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /** Logs out every session; no statement may be running. */
  async close(): Promise<void> {
    try {
      await this.pool.drain();
      await this.pool.clear();
    } finally {
      sinks.delete(this.sink);
    }
  }

  private async attempt<T>(fn: (connection: snowflake.Connection) => Promise<T>): Promise<T> {
    const connection = await this.acquire();
    try {
      if (!this.prepared.has(connection)) {
        // Every timestamp the project writes or defaults is UTC wall clock (TIMESTAMP_NTZ in UTC).
        await this.query(connection, `ALTER SESSION SET TIMEZONE = 'UTC'`);
        this.prepared.add(connection);
        this.counters.sessions += 1;
      }
      const result = await fn(connection);
      await this.pool.release(connection);
      return result;
    } catch (err) {
      if (classify(err, this.settings, this.secrets).kind === 'permanent')
        await this.pool.release(connection);
      else this.evict(connection);
      throw err;
    }
  }

  private async acquire(): Promise<snowflake.Connection> {
    try {
      return await this.pool.acquire();
    } catch (err) {
      // generic-pool's own acquire timeout, or the login error the driver hands to waiting callers.
      const message = err instanceof Error ? err.message : String(err);
      if (/ResourceRequest timed out/i.test(message))
        throw new SnowflakeTimeoutError('opening a session', this.settings.queryTimeoutMs);
      throw err;
    }
  }

  /** Drops a session that may be broken; its logout is not waited for. */
  private evict(connection: snowflake.Connection): void {
    this.counters.evicted += 1;
    this.prepared.delete(connection);
    this.pool.destroy(connection).catch((err: unknown) => {
      this.sink.logger?.debug('snowflake: dropping a session failed', {
        error: scrub(String(err), this.secrets),
      });
    });
  }
}
