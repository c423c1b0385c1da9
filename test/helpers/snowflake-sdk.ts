/**
 * snowflake-sdk's callback API as promises, for tests: connect, run one statement, disconnect. The
 * driver's log goes to an in-memory list (by default it writes `snowflake.log` into the working
 * directory).
 */
import snowflake from 'snowflake-sdk';

export type Row = Record<string, unknown>;

export interface StatementResult {
  rows: Row[];
  /** Rows inserted + updated + deleted for DML (the driver's getNumUpdatedRows), -1 otherwise. */
  updated: number | undefined;
  ms: number;
}

export const driverLog: string[] = [];

export function quietDriverLog(): void {
  const keep = (level: string) => (message: string) => driverLog.push(`${level} ${message}`);
  snowflake.configure({
    logLevel: 'WARN',
    customLogger: {
      error: keep('ERROR'),
      warn: keep('WARN'),
      info: keep('INFO'),
      debug: keep('DEBUG'),
      trace: keep('TRACE'),
    },
  });
}

export function connect(options: snowflake.ConnectionOptions): Promise<snowflake.Connection> {
  const connection = snowflake.createConnection(options);
  return new Promise((resolve, reject) =>
    connection.connect((err, conn) => (err ? reject(err) : resolve(conn))),
  );
}

export function exec(
  connection: snowflake.Connection,
  sqlText: string,
  binds?: snowflake.Binds,
  options: Pick<snowflake.StatementOption, 'fetchAsString' | 'parameters'> = {},
): Promise<StatementResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    connection.execute({
      sqlText,
      binds,
      ...options,
      complete: (err, stmt, rows) =>
        err
          ? reject(err)
          : resolve({
              rows: (rows ?? []) as Row[],
              updated: 'getNumUpdatedRows' in stmt ? stmt.getNumUpdatedRows() : undefined,
              ms: Date.now() - started,
            }),
    });
  });
}

/** The error of a statement expected to fail, with how long it took to arrive. */
export async function execError(
  connection: snowflake.Connection,
  sqlText: string,
  binds?: snowflake.Binds,
): Promise<{ error: snowflake.SnowflakeError; ms: number }> {
  const started = Date.now();
  try {
    await exec(connection, sqlText, binds);
  } catch (error) {
    return { error: error as snowflake.SnowflakeError, ms: Date.now() - started };
  }
  throw new Error(`expected an error from: ${sqlText}`);
}

export function disconnect(connection: snowflake.Connection | undefined): Promise<void> {
  if (!connection?.isUp()) return Promise.resolve();
  return new Promise((resolve) => connection.destroy(() => resolve()));
}
