/**
 * Stable execution ids for bulk starts: the same input always gets the same id, so running the same
 * input again starts nothing new (Temporal rejects a duplicate workflow id).
 *
 * An input's id is `<prefix>-<digest>-<n>`: the digest is the first 16 hex digits of the SHA-256 of
 * the canonical JSON of `{policy, options}` (object keys sorted, `undefined` dropped, no options =
 * `{}`), and `n` counts identical inputs (1 for the first, 2 for the second, ...), so a file that
 * lists the same policy twice runs it twice. An input with its own `id` keeps it.
 */
import { createHash } from 'node:crypto';

/** Prefix of derived ids unless the caller names one. */
export const DEFAULT_ID_PREFIX = 'bulk';

/** JSON with object keys sorted at every level: equal values give equal text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value) as string | undefined;
    // undefined, functions and symbols: as JSON.stringify writes them inside an array.
    return text ?? 'null';
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The digest of one input: what its derived id is made of. */
export function inputDigest(policy: unknown, options: unknown): string {
  const text = canonicalJson({ policy, options: options ?? {} });
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 16);
}

export interface IdSource {
  policy: unknown;
  options?: unknown;
  /** An explicit id; kept as is. */
  id?: string;
}

/** Every input's execution id, in input order (explicit ids kept, the others derived). */
export function deriveExecutionIds(inputs: readonly IdSource[], prefix = DEFAULT_ID_PREFIX): string[] {
  const seen = new Map<string, number>();
  return inputs.map((input) => {
    if (input.id !== undefined) return input.id;
    const digest = inputDigest(input.policy, input.options);
    const n = (seen.get(digest) ?? 0) + 1;
    seen.set(digest, n);
    return `${prefix}-${digest}-${n}`;
  });
}
