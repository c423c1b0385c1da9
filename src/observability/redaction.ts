/**
 * What no log line may carry: the values of the process's secret settings (POLICY_API_TOKEN,
 * SNOWFLAKE_PASSWORD, SNOWFLAKE_PRIVATE_KEY_PASSPHRASE, TEMPORAL_API_KEY and any variable whose name
 * says secret), a bearer token, a PEM private key, and the values of fields whose names say secret.
 * The logger (logging.ts) passes every message and field through one of these. Each secret value is
 * scrubbed the way the policy API client scrubs its token (src/policy-api/redact.ts).
 */
import { createRedactor as createTokenRedactor, REDACTED } from '../policy-api/redact';

/** Environment variables whose values are secrets (paths and files to them are not). */
const SECRET_NAME = /TOKEN|SECRET|PASSWORD|PASSPHRASE|API_KEY|PRIVATE_KEY|CREDENTIAL/i;
const NOT_SECRET_NAME = /_(PATH|FILE)$/i;
/** Field names whose values are never logged. */
const SECRET_FIELD =
  /^(authorization|password|passphrase|token|secret|api_?key|private_?key|privateKeyPass)$/i;
const PEM_PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g;
const BEARER = /\b(Bearer)\s+[A-Za-z0-9\-._~+/=]{4,}/g;
/** Shorter values are not treated as secrets (they would redact common words). */
const MIN_SECRET_CHARS = 4;

export interface Redactor {
  text(value: string): string;
  /** A deep copy of `value` with every string redacted and secret-named fields replaced. */
  value(value: unknown): unknown;
}

/** The secret values in `env`, longest first (so a secret containing another is redacted whole). */
export function secretValues(env: NodeJS.ProcessEnv): string[] {
  const out = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    if (!value || value.length < MIN_SECRET_CHARS) continue;
    if (SECRET_NAME.test(name) && !NOT_SECRET_NAME.test(name)) out.add(value);
  }
  return [...out].sort((a, b) => b.length - a.length);
}

export function createRedactor(secrets: readonly string[]): Redactor {
  const perSecret = secrets
    .filter((s) => s.length >= MIN_SECRET_CHARS)
    .map((s) => createTokenRedactor(s).redact);
  const text = (input: string): string => {
    let out = input.replace(PEM_PRIVATE_KEY, '[REDACTED PRIVATE KEY]').replace(BEARER, `$1 ${REDACTED}`);
    for (const redact of perSecret) out = redact(out);
    return out;
  };
  const value = (input: unknown, depth = 0): unknown => {
    if (typeof input === 'string') return text(input);
    if (input === null || typeof input !== 'object') return input;
    if (depth > 8) return '[…]';
    if (input instanceof Error) return text(input.stack ?? `${input.name}: ${input.message}`);
    if (Array.isArray(input)) return input.map((v) => value(v, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(input)) {
      out[k] = SECRET_FIELD.test(k) && v !== null && v !== undefined ? REDACTED : value(v, depth + 1);
    }
    return out;
  };
  return { text, value: (v) => value(v) };
}
