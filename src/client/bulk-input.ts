/**
 * The inputs of a bulk start and their validation, all before anything starts: each input is a
 * policy with optional options and an optional id; every policy and options object must pass the
 * workflow's own input rules (src/policy), every id must be a valid execution id, and no two
 * inputs may share an id.
 */
import { validateOptions, validatePolicy, type ExecutionOptionsInput, type PolicyData } from '../policy';
import { deriveExecutionIds, DEFAULT_ID_PREFIX } from './stable-id';

/** One execution of a bulk start. */
export interface BulkInput {
  policy: unknown;
  /** This input's own options; they win over the options common to the whole run. */
  options?: ExecutionOptionsInput;
  /** Its execution (workflow) id; derived from the input when absent. */
  id?: string;
}

/** A validated input, ready to start. */
export interface PreparedInput {
  index: number;
  id: string;
  policy: PolicyData;
  /** The common options merged with the input's own (as given: the workflow applies defaults). */
  options: ExecutionOptionsInput;
}

/** Why input `index` (0-based, in input order) cannot start. */
export interface InputProblem {
  index: number;
  message: string;
  /** For a repeated id: the input that has it first. */
  duplicateOf?: number;
}

export type Prepared = { ok: true; inputs: PreparedInput[] } | { ok: false; problems: InputProblem[] };

const WRAPPER_FIELDS = ['id', 'policy', 'options'];

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * A parsed JSON value as a bulk input: either a bare policy object, or a wrapper
 * `{"id"?, "policy", "options"?}` (a policy has no `policy` field, so the two cannot be confused).
 */
export function bulkInputFrom(
  value: unknown,
): { ok: true; input: BulkInput } | { ok: false; message: string } {
  if (!isObject(value) || !('policy' in value)) return { ok: true, input: { policy: value } };
  const unknown = Object.keys(value).find((k) => !WRAPPER_FIELDS.includes(k));
  if (unknown !== undefined)
    return { ok: false, message: `${unknown}: unknown field (a wrapper has id, policy and options)` };
  if (value.id !== undefined && typeof value.id !== 'string')
    return { ok: false, message: 'id: must be a string' };
  if (value.options !== undefined && value.options !== null && !isObject(value.options))
    return { ok: false, message: 'options: must be a JSON object' };
  return {
    ok: true,
    input: {
      policy: value.policy,
      ...(isObject(value.options) ? { options: value.options as ExecutionOptionsInput } : {}),
      ...(value.id !== undefined ? { id: value.id } : {}),
    },
  };
}

/** The execution-id rule of the workflow's options, applied to an id. */
function idProblem(id: string): string | null {
  const v = validateOptions({ executionId: id });
  return v.ok ? null : v.message.replace(/^options\.executionId/, 'id');
}

/** Why `prefix` cannot start derived ids (`<prefix>-<digest>-<n>`), or null when it can. */
export function idPrefixProblem(prefix: string): string | null {
  const problem = idProblem(`${prefix}-0123456789abcdef-1`);
  return problem && problem.replace(/^id:/, 'id prefix:');
}

/**
 * Validate every input and give each its id. Problems are reported for every input (in input
 * order), so a caller can show them all before starting anything. Throws a RangeError for an id
 * prefix that cannot make valid ids (see idPrefixProblem).
 */
export function prepareBulk(
  inputs: readonly BulkInput[],
  common: { options?: ExecutionOptionsInput; idPrefix?: string } = {},
): Prepared {
  const problems: InputProblem[] = [];
  const prefix = common.idPrefix ?? DEFAULT_ID_PREFIX;
  const prefixProblem = idPrefixProblem(prefix);
  if (prefixProblem) throw new RangeError(prefixProblem);

  const merged = inputs.map((input) => ({
    policy: input.policy,
    options: { ...common.options, ...input.options },
    id: input.id,
  }));
  const ids = deriveExecutionIds(merged, prefix);
  const firstUse = new Map<string, number>();
  const prepared: PreparedInput[] = [];
  merged.forEach((input, index) => {
    const id = ids[index] as string;
    const policy = validatePolicy(input.policy);
    const options = validateOptions(input.options);
    const idError = input.id !== undefined ? idProblem(id) : null;
    const other = firstUse.get(id);
    if (!policy.ok) problems.push({ index, message: policy.message });
    else if (!options.ok) problems.push({ index, message: options.message });
    else if (idError) problems.push({ index, message: idError });
    else if (other !== undefined)
      problems.push({ index, message: `id: '${id}' is the id of an earlier input too`, duplicateOf: other });
    else prepared.push({ index, id, policy: policy.value, options: input.options });
    if (other === undefined) firstUse.set(id, index);
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, inputs: prepared };
}
