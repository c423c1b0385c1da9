/**
 * Snowflake settings from the environment, the Snowflake way: the SNOWFLAKE_* variables
 * dbt/profiles.yml's `snowflake` target reads too, so the worker and dbt point at the same account,
 * database and schema. Password or key-pair authentication. A missing or malformed setting fails at
 * start with a message naming it. Nothing here logs or returns a secret outside the driver's options.
 */
import fs from 'node:fs';
import type snowflake from 'snowflake-sdk';

export type SnowflakeAuth =
  | { kind: 'password'; password: string }
  | { kind: 'key-pair'; privateKeyPath: string; passphrase: string | undefined };

export interface SnowflakeSettings {
  account: string;
  user: string;
  auth: SnowflakeAuth;
  role: string;
  /** The virtual warehouse (compute), not to be confused with the `Warehouse` contract. */
  warehouse: string;
  database: string;
  schema: string;
  /** Endpoint overrides (e.g. the emulator); unset: the driver derives them from the account. */
  host: string | undefined;
  port: number | undefined;
  protocol: 'http' | 'https' | undefined;
  /**
   * SNOWFLAKE_QUERY_TIMEOUT_MS: how long the adapter waits for one statement (or a session from the
   * pool), the driver's own HTTP retries included, before it drops the session and reports the
   * warehouse unavailable (retryable). Also the driver's per-request timeout.
   */
  queryTimeoutMs: number;
  /** SNOWFLAKE_POOL_SIZE: most sessions this process keeps open. */
  poolSize: number;
  /** SNOWFLAKE_LOG_LEVEL: what the driver's log lets through to the worker's log. */
  logLevel: snowflake.LogLevel;
}

export const DEFAULT_QUERY_TIMEOUT_MS = 30_000;
export const DEFAULT_POOL_SIZE = 4;
const LOG_LEVELS: readonly snowflake.LogLevel[] = ['ERROR', 'WARN', 'INFO', 'DEBUG', 'TRACE', 'OFF'];
/** An unquoted Snowflake identifier (upper-cased by Snowflake, as dbt-snowflake leaves it). */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]*$/;
/** Settings without a default, in the order the docs list them. */
const REQUIRED = [
  'SNOWFLAKE_ACCOUNT',
  'SNOWFLAKE_USER',
  'SNOWFLAKE_ROLE',
  'SNOWFLAKE_WAREHOUSE',
  'SNOWFLAKE_DATABASE',
  'SNOWFLAKE_SCHEMA',
] as const;
const CREDENTIALS = 'SNOWFLAKE_PASSWORD or SNOWFLAKE_PRIVATE_KEY_PATH';

function value(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/** The settings `env` lacks (names; the credentials as one entry), empty when complete. */
export function missingSnowflakeSettings(env: NodeJS.ProcessEnv): string[] {
  const hasCredentials = !!value(env, 'SNOWFLAKE_PASSWORD') || !!value(env, 'SNOWFLAKE_PRIVATE_KEY_PATH');
  return REQUIRED.flatMap((name) => [
    ...(value(env, name) === undefined ? [name] : []),
    ...(name === 'SNOWFLAKE_USER' && !hasCredentials ? [CREDENTIALS] : []),
  ]);
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number, max = Infinity): number {
  const raw = value(env, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new Error(
      `${name} must be a whole number from 1${max === Infinity ? '' : ` to ${max}`}, got '${raw}'`,
    );
  return n;
}

/** Reads and checks the SNOWFLAKE_* settings; throws naming every missing or malformed one. */
export function snowflakeSettingsFromEnv(env: NodeJS.ProcessEnv): SnowflakeSettings {
  const missing = missingSnowflakeSettings(env);
  if (missing.length > 0) {
    throw new Error(
      `WAREHOUSE=snowflake needs ${missing.join(', ')} (see docs/snowflake.md and docs/configuration.md)`,
    );
  }
  const get = (name: string) => value(env, name) as string;
  const password = value(env, 'SNOWFLAKE_PASSWORD');
  const keyPath = value(env, 'SNOWFLAKE_PRIVATE_KEY_PATH');
  if (password && keyPath)
    throw new Error(
      'set SNOWFLAKE_PASSWORD or SNOWFLAKE_PRIVATE_KEY_PATH, not both (dbt reads the same two)',
    );
  let auth: SnowflakeAuth;
  if (keyPath) {
    try {
      fs.accessSync(keyPath, fs.constants.R_OK);
    } catch {
      throw new Error(`SNOWFLAKE_PRIVATE_KEY_PATH: cannot read the private key file '${keyPath}'`);
    }
    auth = {
      kind: 'key-pair',
      privateKeyPath: keyPath,
      passphrase: env.SNOWFLAKE_PRIVATE_KEY_PASSPHRASE || undefined,
    };
  } else {
    auth = { kind: 'password', password: env.SNOWFLAKE_PASSWORD as string };
  }
  for (const name of ['SNOWFLAKE_DATABASE', 'SNOWFLAKE_SCHEMA']) {
    if (!IDENTIFIER.test(get(name)))
      throw new Error(
        `${name} must be an unquoted identifier (letters, digits, _ and $), got '${get(name)}'`,
      );
  }
  const protocol = value(env, 'SNOWFLAKE_PROTOCOL')?.toLowerCase();
  if (protocol !== undefined && protocol !== 'http' && protocol !== 'https')
    throw new Error(`SNOWFLAKE_PROTOCOL must be 'http' or 'https', got '${protocol}'`);
  const logLevel = (value(env, 'SNOWFLAKE_LOG_LEVEL') ?? 'WARN').toUpperCase() as snowflake.LogLevel;
  if (!LOG_LEVELS.includes(logLevel))
    throw new Error(`SNOWFLAKE_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got '${logLevel}'`);
  return {
    account: get('SNOWFLAKE_ACCOUNT'),
    user: get('SNOWFLAKE_USER'),
    auth,
    role: get('SNOWFLAKE_ROLE'),
    warehouse: get('SNOWFLAKE_WAREHOUSE'),
    database: get('SNOWFLAKE_DATABASE'),
    schema: get('SNOWFLAKE_SCHEMA'),
    host: value(env, 'SNOWFLAKE_HOST'),
    port:
      value(env, 'SNOWFLAKE_PORT') === undefined ? undefined : positiveInt(env, 'SNOWFLAKE_PORT', 443, 65535),
    protocol,
    queryTimeoutMs: positiveInt(env, 'SNOWFLAKE_QUERY_TIMEOUT_MS', DEFAULT_QUERY_TIMEOUT_MS),
    poolSize: positiveInt(env, 'SNOWFLAKE_POOL_SIZE', DEFAULT_POOL_SIZE),
    logLevel,
  };
}

/**
 * The SNOWFLAKE_* variables dbt/profiles.yml reads, for the worker's dbt runs (the settings may come
 * from elsewhere than this process's environment, e.g. in tests).
 */
export function snowflakeDbtEnv(s: SnowflakeSettings): Record<string, string> {
  const env: Record<string, string> = {
    SNOWFLAKE_ACCOUNT: s.account,
    SNOWFLAKE_USER: s.user,
    SNOWFLAKE_ROLE: s.role,
    SNOWFLAKE_WAREHOUSE: s.warehouse,
    SNOWFLAKE_DATABASE: s.database,
    SNOWFLAKE_SCHEMA: s.schema,
  };
  if (s.auth.kind === 'password') env.SNOWFLAKE_PASSWORD = s.auth.password;
  else {
    env.SNOWFLAKE_PRIVATE_KEY_PATH = s.auth.privateKeyPath;
    if (s.auth.passphrase) env.SNOWFLAKE_PRIVATE_KEY_PASSPHRASE = s.auth.passphrase;
  }
  if (s.host) env.SNOWFLAKE_HOST = s.host;
  if (s.port) env.SNOWFLAKE_PORT = String(s.port);
  if (s.protocol) env.SNOWFLAKE_PROTOCOL = s.protocol;
  return env;
}

/** `DATABASE.SCHEMA.table`, as dbt-snowflake names the sources (unquoted). */
export function qualifiedName(s: Pick<SnowflakeSettings, 'database' | 'schema'>, table: string): string {
  return `${s.database}.${s.schema}.${table}`;
}

/** Where the settings point, for logs and messages: no credential. */
export function describeSnowflake(s: SnowflakeSettings): string {
  const endpoint = s.host ? ` via ${s.protocol ?? 'https'}://${s.host}${s.port ? `:${s.port}` : ''}` : '';
  return `snowflake account ${s.account}${endpoint}, ${s.database}.${s.schema} as ${s.user} (role ${s.role}, warehouse ${s.warehouse}, ${s.auth.kind} auth)`;
}

/** The tag on every statement of one component of this project (Snowflake's QUERY_HISTORY shows it). */
export function queryTag(component: string): string {
  return `policy-execution:${component}`;
}

/** The driver's connection options (the only place credentials go). */
export function connectionOptions(s: SnowflakeSettings, component: string): snowflake.ConnectionOptions {
  const options: snowflake.ConnectionOptions & { port?: number; protocol?: string } = {
    account: s.account,
    username: s.user,
    role: s.role,
    warehouse: s.warehouse,
    database: s.database,
    schema: s.schema,
    application: 'policy-execution',
    queryTag: queryTag(component),
    // Each HTTP request's timeout; the adapter bounds a whole statement the same way (session.ts).
    timeout: s.queryTimeoutMs,
    // One login attempt per connection: a failing login reaches the caller (and Temporal) at once.
    sfRetryMaxLoginRetries: 1,
  };
  if (s.auth.kind === 'password') options.password = s.auth.password;
  else {
    options.authenticator = 'SNOWFLAKE_JWT';
    options.privateKeyPath = s.auth.privateKeyPath;
    if (s.auth.passphrase) options.privateKeyPass = s.auth.passphrase;
  }
  if (s.host) options.host = s.host;
  if (s.port) options.port = s.port;
  if (s.protocol) options.protocol = s.protocol;
  return options;
}

/** The secret values of the settings, to scrub from any text leaving the adapter. */
export function secretsOf(s: SnowflakeSettings): string[] {
  const out = s.auth.kind === 'password' ? [s.auth.password] : [s.auth.passphrase ?? ''];
  return out.filter((v) => v.length >= 4);
}
