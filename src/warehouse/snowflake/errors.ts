/**
 * What a snowflake-sdk failure means for the adapter, decided once here:
 *
 *   session      the session expired or is gone: drop the connection; the statement may be retried
 *                once at once on a fresh session;
 *   unavailable  the network, throttling, a timeout, an internal error: drop the connection; the
 *                caller gets WarehouseUnavailableError (retryable: Temporal's retry policy retries);
 *   permanent    SQL, authentication, permissions, a missing database / schema / table: the caller
 *                gets WarehouseConfigError naming the setting to fix (retrying would not help).
 *
 * Server errors carry a six-digit `code` ('002003'); the driver's own are numbers (401001); the
 * driver's pool turns a failed login into a bare Error with only the message, so messages are
 * matched too. Every message leaving here is scrubbed of the configured secrets.
 */
import { WarehouseConfigError, WarehouseUnavailableError } from '../types';
import type { SnowflakeSettings } from './config';

export type FailureKind = 'session' | 'unavailable' | 'permanent';

export interface Classified {
  kind: FailureKind;
  /** What went wrong, scrubbed, with the code when there is one. */
  detail: string;
  /** The setting(s) to look at for a permanent failure. */
  setting: string | null;
}

/** The adapter's own deadline (SNOWFLAKE_QUERY_TIMEOUT_MS) ran out. */
export class SnowflakeTimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} did not finish within ${ms} ms (SNOWFLAKE_QUERY_TIMEOUT_MS)`);
    this.name = 'SnowflakeTimeoutError';
  }
}

/**
 * 390104 session token invalid, 390111 session gone, 390112 session expired, 390114 master token
 * expired; 401004 the driver's "Invalid token" (HTTP 401 to a request on the session).
 */
const SESSION_CODES = new Set(['390104', '390111', '390112', '390114', '401004']);
/** The driver's "not connected" states: 405503 connection disconnected, 407001/407002 request on a pristine / disconnected connection. */
const DISCONNECTED_CODES = new Set(['405503', '407001', '407002']);
/** The driver's network codes and server errors worth retrying (internal error, statement canceled or timed out, lock wait). */
const UNAVAILABLE_CODES = new Set([
  '401001',
  '401002',
  '401003',
  '402001',
  '000603',
  '000604',
  '000625',
  '000630',
]);
const SESSION_TEXT =
  /session (?:has |token )?(?:expired|is (?:no longer|not) (?:valid|available))|session (?:does not exist|gone)|connection (?:already terminated|is not (?:up|connected))|not connected/i;
const UNAVAILABLE_TEXT =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ESOCKETTIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|socket hang up|network error|request to snowflake failed|timed? ?out|too many requests|\b429\b|\b50[234]\b|service unavailable|ResourceRequest timed out/i;

interface Rule {
  test: RegExp;
  setting: (s: SnowflakeSettings | undefined) => string;
  why: string;
}

const credentials = (s: SnowflakeSettings | undefined) =>
  s?.auth.kind === 'key-pair'
    ? "SNOWFLAKE_USER and SNOWFLAKE_PRIVATE_KEY_PATH (and SNOWFLAKE_PRIVATE_KEY_PASSPHRASE; the user needs the key's RSA_PUBLIC_KEY)"
    : 'SNOWFLAKE_USER and SNOWFLAKE_PASSWORD';

/** Permanent failures with a setting to fix, by message (first match wins). */
const RULES: Rule[] = [
  {
    test: /incorrect username or password|JWT token is invalid|authenticat|user .*(?:locked|disabled|does not exist)|private ?key|passphrase|\b3901(?:00|01|02|44)\b/i,
    setting: credentials,
    why: 'authentication failed',
  },
  {
    test: /role .*not (?:granted|exist)|\b390189\b/i,
    setting: () => 'SNOWFLAKE_ROLE',
    why: 'the role is not usable',
  },
  {
    test: /no active warehouse|warehouse .*(?:does not exist|not authorized|cannot be resumed|suspended)|\b000606\b/i,
    setting: () => 'SNOWFLAKE_WAREHOUSE',
    why: 'the warehouse is not usable',
  },
  {
    test: /database .*does not exist|does not have a current database/i,
    setting: () => 'SNOWFLAKE_DATABASE',
    why: 'the database is missing or not granted',
  },
  {
    test: /schema .*does not exist|does not have a current schema/i,
    setting: () => 'SNOWFLAKE_SCHEMA',
    why: 'the schema is missing or not granted',
  },
  {
    test: /(?:object|table) .*does not exist or not authorized/i,
    setting: () => 'SNOWFLAKE_DATABASE and SNOWFLAKE_SCHEMA, or the grants of SNOWFLAKE_ROLE',
    why: 'a table is missing or not granted',
  },
  {
    test: /insufficient privileges|access control error|not authorized/i,
    setting: () => 'SNOWFLAKE_ROLE (its grants: docs/snowflake.md)',
    why: 'the role lacks a privilege',
  },
  {
    test: /account .*(?:not found|does not exist|locked)|ENOTFOUND|\b390(?:201|422)\b/i,
    setting: () => 'SNOWFLAKE_ACCOUNT (and SNOWFLAKE_HOST if set)',
    why: 'the account endpoint is wrong',
  },
];

/** Replaces every configured secret in `text`. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret) out = out.split(secret).join('***');
  return out;
}

function codeOf(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'number') return String(code);
  if (typeof code === 'string' && /^\d+$/.test(code)) return code.padStart(6, '0');
  return null;
}

export function classify(
  err: unknown,
  settings?: SnowflakeSettings,
  secrets: readonly string[] = [],
): Classified {
  const code = codeOf(err);
  const message = scrub(err instanceof Error ? err.message : String(err), secrets)
    .replace(/\s+/g, ' ')
    .trim();
  const detail = code && !message.includes(code) ? `${code} ${message}` : message;
  if (err instanceof SnowflakeTimeoutError) return { kind: 'unavailable', detail, setting: null };
  if ((code && SESSION_CODES.has(code)) || SESSION_TEXT.test(message))
    return { kind: 'session', detail, setting: null };
  if (code && DISCONNECTED_CODES.has(code)) return { kind: 'session', detail, setting: null };
  // A wrong account name fails DNS (ENOTFOUND): permanent, unlike a network outage.
  const rule = RULES.find((r) => r.test.test(detail));
  if (rule) return { kind: 'permanent', detail: `${rule.why}: ${detail}`, setting: rule.setting(settings) };
  if ((code && UNAVAILABLE_CODES.has(code)) || UNAVAILABLE_TEXT.test(message))
    return { kind: 'unavailable', detail, setting: null };
  // Any other server error is SQL the server refused (compilation, constraint, type): permanent.
  if (code && code.length === 6 && !code.startsWith('4')) return { kind: 'permanent', detail, setting: null };
  // Any other driver error (no code, or a 4xxxxx driver code) counts as transient.
  return { kind: code?.startsWith('404') ? 'permanent' : 'unavailable', detail, setting: null };
}

/** The error the adapter's caller sees for a classified failure of `what` (e.g. 'upsert of 12 rows'). */
export function toWarehouseError(what: string, c: Classified): Error {
  if (c.kind === 'permanent') {
    const fix = c.setting ? `; check ${c.setting}` : '';
    return new WarehouseConfigError(`snowflake ${what} failed: ${c.detail}${fix}`, c.setting);
  }
  return new WarehouseUnavailableError(
    `snowflake ${what} failed (retryable): ${c.detail}${c.kind === 'session' ? ' (session lost)' : ''}`,
  );
}
