/**
 * Input validation for the policyExecution workflow. Pure: the workflow validates its own input with
 * it (so a bad input fails the workflow, non-retryably, before any side effect) and the CLI and the
 * dbt dispatcher validate with it before starting anything.
 */
import { z } from 'zod';
import { API_ACTIVITY_START_TO_CLOSE_MS, MAX_API_TIMEOUT_MS } from './activity-timeouts';

/** Serialized size cap for the policy object (UTF-16 code units of its JSON; close enough to bytes). */
export const MAX_POLICY_JSON_CHARS = 64 * 1024;
const MAX_JSON_DEPTH = 8;
const MAX_ARRAY_ITEMS = 1000;
const MAX_TEXT = 4096;

// C0 controls except tab, newline, carriage return; plus DEL.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
// eslint-disable-next-line no-control-regex
const CONTROL_OR_NEWLINE = /[\u0000-\u001f\u007f]/;

const line = (max: number) =>
  z
    .string()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .refine((s) => s.trim().length > 0, 'must not be blank')
    .refine((s) => !CONTROL_OR_NEWLINE.test(s), 'must not contain control characters or newlines');

const text = (max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .refine((s) => !CONTROL.test(s), 'must not contain control characters');

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

function jsonDepth(value: unknown, depth = 0): number {
  if (Array.isArray(value))
    return value.reduce<number>((m, v) => Math.max(m, jsonDepth(v, depth + 1)), depth + 1);
  if (value !== null && typeof value === 'object')
    return Object.values(value).reduce<number>((m, v) => Math.max(m, jsonDepth(v, depth + 1)), depth + 1);
  return depth;
}

const jsonValue: z.ZodType<Json> = z.lazy(() =>
  z.union([
    text(MAX_TEXT),
    z.number().finite(),
    z.boolean(),
    z.null(),
    z.array(jsonValue).max(MAX_ARRAY_ITEMS, `must have at most ${MAX_ARRAY_ITEMS} items`),
    z.record(z.string().max(256), jsonValue),
  ]),
);

export const PRIORITIES = ['low', 'medium', 'high', 'critical'] as const;

export const PolicyParametersSchema = z
  .object({
    retention_days: z.number().int('must be a whole number').min(0).max(36500).optional(),
    classification: line(128).optional(),
    compliance_level: line(128).optional(),
    circuit_breaker_enabled: z.boolean().optional(),
  })
  .catchall(jsonValue)
  .refine((p) => jsonDepth(p) <= MAX_JSON_DEPTH, `must not nest deeper than ${MAX_JSON_DEPTH} levels`);

/** The guide's policy object (the "Sample Request" of Create Policy). */
export const PolicySchema = z.strictObject({
  policy_name: line(256),
  policy_type: line(128),
  description: text(MAX_TEXT).optional(),
  priority: z.enum(PRIORITIES, { error: `must be one of ${PRIORITIES.join(', ')}` }),
  created_by: line(256),
  expected_policy_id: line(128).optional(),
  parameters: PolicyParametersSchema.optional(),
});
export type PolicyData = z.infer<typeof PolicySchema>;

/** What is wrong with an API client deadline of `timeoutMs` (over MAX_API_TIMEOUT_MS), or null. */
export function apiTimeoutProblem(timeoutMs: number): string | null {
  if (timeoutMs <= MAX_API_TIMEOUT_MS) return null;
  return (
    `must be at most ${MAX_API_TIMEOUT_MS}, got ${timeoutMs}: each API activity attempt has ` +
    `${API_ACTIVITY_START_TO_CLOSE_MS} ms (start-to-close) for the call and its state write`
  );
}

export const DEFAULT_MAX_POLLS = 3;
export const DEFAULT_POLL_INTERVAL_MS = 2000;

const EXECUTION_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

/** Per-execution options (the workflow's optional second argument). */
export const ExecutionOptionsSchema = z.strictObject({
  /** Execution id for the state table; defaults to the workflow id. */
  executionId: z
    .string()
    // Not `.regex()`: zod resets the RegExp's lastIndex, and the worker preloads this module into
    // Temporal's shared, frozen workflow context, where that assignment throws (every executionId
    // was refused; found by the chaos suite, scenario bad-input).
    .refine(
      (s) => EXECUTION_ID.test(s),
      'must be 1-128 of A-Z a-z 0-9 . _ : @ - (not starting with a symbol)',
    )
    .optional(),
  /** How many status polls before giving up (guide: 3). */
  maxPolls: z.number().int('must be a whole number').min(1).max(1000).default(DEFAULT_MAX_POLLS),
  /** Delay between polls, a durable timer (guide: 2 s). */
  pollIntervalMs: z
    .number()
    .int('must be a whole number')
    .min(0)
    .max(86_400_000)
    .default(DEFAULT_POLL_INTERVAL_MS),
  /** Ask for a refresh of policy_execution_model when the execution ends. */
  refreshModel: z.boolean().default(true),
  /** Temporal retry policy for the API calls (transient errors only). */
  retry: z
    .strictObject({
      maximumAttempts: z.number().int().min(1).max(100).default(8),
      initialIntervalMs: z.number().int().min(1).max(600_000).default(1000),
      maximumIntervalMs: z.number().int().min(1).max(3_600_000).default(20_000),
    })
    .default({ maximumAttempts: 8, initialIntervalMs: 1000, maximumIntervalMs: 20_000 }),
});
export type ExecutionOptions = z.infer<typeof ExecutionOptionsSchema>;
export type ExecutionOptionsInput = z.input<typeof ExecutionOptionsSchema>;

export type Validated<T> = { ok: true; value: T } | { ok: false; field: string; message: string };

function formatPath(root: string, path: PropertyKey[]): string {
  let out = root;
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `.${String(p)}`;
  return out;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/**
 * Our own wording for zod's issue codes: zod's default messages depend on which locale the bundle
 * loaded, and the workflow sandbox bundle must say the same as the CLI.
 */
function describeIssue(issue: z.core.$ZodIssue): string {
  const custom = issue.message && !issue.message.startsWith('Invalid') && !issue.message.startsWith('Too ');
  if (custom) return issue.message;
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined
        ? 'is required'
        : `expected ${issue.expected}, got ${describeType(issue.input)}`;
    case 'too_small':
      return `must be at least ${String(issue.minimum)}`;
    case 'too_big':
      return `must be at most ${String(issue.maximum)}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_format':
      return `has an invalid format (${issue.format})`;
    case 'invalid_union':
      return 'is not a valid JSON value here (too long, too large, or of an unsupported type)';
    default:
      return 'is invalid';
  }
}

function firstIssue(root: string, error: z.ZodError): { field: string; message: string } {
  const issue = error.issues[0];
  if (!issue) return { field: root, message: `${root}: invalid` };
  if (issue.code === 'unrecognized_keys') {
    const field = formatPath(root, [...issue.path, issue.keys[0] ?? '?']);
    return { field, message: `${field}: unknown field (allowed fields are listed in the usage guide)` };
  }
  const field = formatPath(root, issue.path);
  return { field, message: `${field}: ${describeIssue(issue)}` };
}

/** A UTF-16 surrogate without its partner: valid in a JS string, not in UTF-8 or the warehouse's JSON. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Nesting below the policy object that is always too deep (parameters plus MAX_JSON_DEPTH levels). */
const MAX_WALK_DEPTH = MAX_JSON_DEPTH + 2;

/**
 * Structural checks that must run before zod, without recursion: zod's recursive schema overflows the
 * stack on a deeply nested value (a few thousand levels), and it drops a `__proto__` key (its output
 * object would get a new prototype instead), so such a policy would not be stored verbatim. Strings
 * with unpaired surrogates are rejected because the warehouse's JSON columns cannot store them.
 * Both were found by the chaos suite's bad-input corpus.
 */
function structuralProblem(root: string, input: unknown): { field: string; message: string } | null {
  const stack: { value: unknown; path: PropertyKey[] }[] = [{ value: input, path: [] }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { value, path } = next;
    if (typeof value === 'string' && LONE_SURROGATE.test(value)) {
      const field = formatPath(root, path);
      return { field, message: `${field}: must be valid Unicode text (it has an unpaired surrogate)` };
    }
    if (value === null || typeof value !== 'object') continue;
    if (path.length > MAX_WALK_DEPTH) {
      const field = formatPath(root, path);
      return { field, message: `${field}: must not nest deeper than ${MAX_JSON_DEPTH} levels` };
    }
    const isArray = Array.isArray(value);
    for (const key of Object.keys(value)) {
      if (LONE_SURROGATE.test(key)) {
        const field = formatPath(root, path);
        return {
          field,
          message: `${field}: keys must be valid Unicode text (one has an unpaired surrogate)`,
        };
      }
      if (key === '__proto__') {
        const field = formatPath(root, [...path, key]);
        return { field, message: `${field}: '__proto__' is not allowed as a key` };
      }
      stack.push({
        value: (value as Record<string, unknown>)[key],
        path: [...path, isArray ? Number(key) : key],
      });
    }
  }
  return null;
}

function unexpected(root: string, err: unknown): { ok: false; field: string; message: string } {
  const why = err instanceof Error ? err.message : String(err);
  return { ok: false, field: root, message: `${root}: could not be validated (${why.slice(0, 200)})` };
}

export function validatePolicy(input: unknown): Validated<PolicyData> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    const got = input === null ? 'null' : Array.isArray(input) ? 'an array' : typeof input;
    return { ok: false, field: 'policy', message: `policy: must be a JSON object, got ${got}` };
  }
  // First, without recursion: the size check below recurses too.
  const problem = structuralProblem('policy', input);
  if (problem) return { ok: false, ...problem };
  let size: number;
  try {
    size = JSON.stringify(input).length;
  } catch {
    return { ok: false, field: 'policy', message: 'policy: is not serializable JSON' };
  }
  if (size > MAX_POLICY_JSON_CHARS) {
    return {
      ok: false,
      field: 'policy',
      message: `policy: is ${size} characters as JSON, more than the limit of ${MAX_POLICY_JSON_CHARS}`,
    };
  }
  try {
    const r = PolicySchema.safeParse(input, { reportInput: true });
    return r.success ? { ok: true, value: r.data } : { ok: false, ...firstIssue('policy', r.error) };
  } catch (err) {
    // Never throw out of validation: in the workflow that would fail the task, not the execution.
    return unexpected('policy', err);
  }
}

export function validateOptions(input: unknown): Validated<ExecutionOptions> {
  if (input !== undefined && input !== null && (typeof input !== 'object' || Array.isArray(input))) {
    return { ok: false, field: 'options', message: 'options: must be a JSON object' };
  }
  const problem = structuralProblem('options', input);
  if (problem) return { ok: false, ...problem };
  try {
    const r = ExecutionOptionsSchema.safeParse(input ?? {}, { reportInput: true });
    return r.success ? { ok: true, value: r.data } : { ok: false, ...firstIssue('options', r.error) };
  } catch (err) {
    return unexpected('options', err);
  }
}
