/**
 * The bad-input corpus: workflow inputs (policy object and per-execution options) that a caller, a
 * dbt macro or an attacker could send. Each case is either rejected with a non-retryable error that
 * names the field, or accepted and stored verbatim. Used by the unit test
 * (test/unit/bad-input-corpus.test.ts: the validation rules) and by the chaos scenario `bad-input`
 * (real workflows: error row or verbatim row, no API call for a rejected input).
 */

export type Expectation = { accepted: true } | { accepted: false; field: string };

export interface CorpusCase {
  name: string;
  /** `uid` is a unique id the case may use as expected_policy_id (so executions don't collide). */
  build(uid: string): { policy: unknown; options?: unknown };
  expect: Expectation;
}

export const SQL_INJECTIONS = [
  "'; DROP TABLE policy_execution_state; --",
  '" OR 1=1; --',
  "'); DELETE FROM policy_execution_state WHERE '1'='1",
  "\\'; SELECT * FROM duckdb_tables(); --",
  "$$; COPY policy_execution_state TO '/tmp/x.csv'; --",
] as const;

const DROP = SQL_INJECTIONS[0];

type Policy = Record<string, unknown>;

export function samplePolicy(uid: string): Policy {
  return {
    policy_name: 'sample_policy',
    policy_type: 'data_governance',
    description: 'Sample policy for data governance with circuit breaker',
    priority: 'high',
    created_by: 'dbt_user',
    expected_policy_id: uid,
    parameters: {
      retention_days: 90,
      classification: 'sensitive',
      compliance_level: 'strict',
      circuit_breaker_enabled: true,
    },
  };
}

function without(p: Policy, key: string): Policy {
  const { [key]: _omit, ...rest } = p;
  return rest;
}

function withParams(uid: string, params: Record<string, unknown>): Policy {
  const p = samplePolicy(uid);
  return { ...p, parameters: { ...(p.parameters as Policy), ...params } };
}

function nested(depth: number, leaf: unknown, as: 'object' | 'array'): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = as === 'array' ? [v] : { level: v };
  return v;
}

/** Keys that are valid JSON but special in JavaScript; built with JSON.parse so they are own keys. */
function parsed(text: string): unknown {
  return JSON.parse(text) as unknown;
}

const ok: Expectation = { accepted: true };
const bad = (field: string): Expectation => ({ accepted: false, field });

function policyCase(name: string, expect: Expectation, build: (uid: string) => unknown): CorpusCase {
  return { name, expect, build: (uid) => ({ policy: build(uid) }) };
}

function optionsCase(name: string, expect: Expectation, options: unknown): CorpusCase {
  return { name, expect, build: (uid) => ({ policy: samplePolicy(uid), options }) };
}

export const BAD_INPUT_CORPUS: readonly CorpusCase[] = [
  // --- baseline
  policyCase('the guide sample', ok, (uid) => samplePolicy(uid)),
  // --- missing required fields
  ...['policy_name', 'policy_type', 'priority', 'created_by'].map((f) =>
    policyCase(`missing ${f}`, bad(`policy.${f}`), (uid) => without(samplePolicy(uid), f)),
  ),
  policyCase('only optional fields', bad('policy.policy_name'), (uid) => ({
    description: 'x',
    expected_policy_id: uid,
  })),
  // --- wrong types
  policyCase('policy_name is a number', bad('policy.policy_name'), (uid) => ({
    ...samplePolicy(uid),
    policy_name: 123,
  })),
  policyCase('policy_type is null', bad('policy.policy_type'), (uid) => ({
    ...samplePolicy(uid),
    policy_type: null,
  })),
  policyCase('priority is a number', bad('policy.priority'), (uid) => ({
    ...samplePolicy(uid),
    priority: 1,
  })),
  policyCase('created_by is a boolean', bad('policy.created_by'), (uid) => ({
    ...samplePolicy(uid),
    created_by: true,
  })),
  policyCase('description is a number', bad('policy.description'), (uid) => ({
    ...samplePolicy(uid),
    description: 42,
  })),
  policyCase('expected_policy_id is an object', bad('policy.expected_policy_id'), (uid) => ({
    ...samplePolicy(uid),
    expected_policy_id: { id: uid },
  })),
  policyCase('parameters is a string', bad('policy.parameters'), (uid) => ({
    ...samplePolicy(uid),
    parameters: 'retention_days=90',
  })),
  policyCase('parameters is an array', bad('policy.parameters'), (uid) => ({
    ...samplePolicy(uid),
    parameters: [90, 'sensitive'],
  })),
  policyCase('retention_days is a string', bad('policy.parameters.retention_days'), (uid) =>
    withParams(uid, { retention_days: '90' }),
  ),
  policyCase('retention_days is fractional', bad('policy.parameters.retention_days'), (uid) =>
    withParams(uid, { retention_days: 1.5 }),
  ),
  policyCase('retention_days is negative', bad('policy.parameters.retention_days'), (uid) =>
    withParams(uid, { retention_days: -1 }),
  ),
  policyCase('retention_days is huge', bad('policy.parameters.retention_days'), (uid) =>
    withParams(uid, { retention_days: 1e12 }),
  ),
  policyCase('circuit_breaker_enabled is a string', bad('policy.parameters.circuit_breaker_enabled'), (uid) =>
    withParams(uid, { circuit_breaker_enabled: 'yes' }),
  ),
  policyCase('classification is a number', bad('policy.parameters.classification'), (uid) =>
    withParams(uid, { classification: 7 }),
  ),
  // --- wrong enum values and blank text
  ...['urgent', 'HIGH', '', ' high'].map((priority) =>
    policyCase(`priority ${JSON.stringify(priority)}`, bad('policy.priority'), (uid) => ({
      ...samplePolicy(uid),
      priority,
    })),
  ),
  policyCase('policy_name empty', bad('policy.policy_name'), (uid) => ({
    ...samplePolicy(uid),
    policy_name: '',
  })),
  policyCase('policy_name blank', bad('policy.policy_name'), (uid) => ({
    ...samplePolicy(uid),
    policy_name: '   ',
  })),
  // --- unknown and special keys
  policyCase('unknown top-level field', bad('policy.is_admin'), (uid) => ({
    ...samplePolicy(uid),
    is_admin: true,
  })),
  policyCase('__proto__ at the top level', bad('policy.__proto__'), (uid) =>
    parsed(`{"__proto__": {"is_admin": true}, "policy_name": "p", "policy_type": "t", "priority": "low",
      "created_by": "me", "expected_policy_id": ${JSON.stringify(uid)}}`),
  ),
  policyCase('__proto__ inside parameters', bad('policy.parameters.__proto__'), (uid) =>
    withParams(uid, parsed('{"__proto__": {"polluted": true}}') as Policy),
  ),
  policyCase('constructor / prototype keys inside parameters (kept verbatim)', ok, (uid) =>
    withParams(
      uid,
      parsed('{"constructor": {"prototype": {"x": 1}}, "toString": "s", "hasOwnProperty": 1}') as Policy,
    ),
  ),
  // --- deep nesting
  policyCase('parameters nested 6 levels (allowed)', ok, (uid) =>
    withParams(uid, { tree: nested(6, 'leaf', 'object') }),
  ),
  policyCase('parameters nested 20 levels', bad('policy.parameters'), (uid) =>
    withParams(uid, { tree: nested(20, 'leaf', 'object') }),
  ),
  policyCase('parameters nested 3000 levels of objects', bad('policy.parameters.tree'), (uid) =>
    withParams(uid, { tree: nested(3000, 0, 'object') }),
  ),
  policyCase('parameters nested 3000 levels of arrays', bad('policy.parameters.tree'), (uid) =>
    withParams(uid, { tree: nested(3000, 0, 'array') }),
  ),
  // --- huge strings and arrays
  policyCase('policy_name 257 characters', bad('policy.policy_name'), (uid) => ({
    ...samplePolicy(uid),
    policy_name: 'n'.repeat(257),
  })),
  policyCase('description at the 4096 character limit (allowed)', ok, (uid) => ({
    ...samplePolicy(uid),
    description: 'd'.repeat(4096),
  })),
  policyCase('description 4097 characters', bad('policy.description'), (uid) => ({
    ...samplePolicy(uid),
    description: 'd'.repeat(4097),
  })),
  policyCase('description 200 000 characters', bad('policy'), (uid) => ({
    ...samplePolicy(uid),
    description: 'd'.repeat(200_000),
  })),
  policyCase('custom parameter string 5000 characters', bad('policy.parameters.note'), (uid) =>
    withParams(uid, { note: 'x'.repeat(5000) }),
  ),
  policyCase('array of 1000 items (allowed)', ok, (uid) =>
    withParams(uid, { ids: Array.from({ length: 1000 }, (_, i) => i) }),
  ),
  policyCase('array of 1001 items', bad('policy.parameters.ids'), (uid) =>
    withParams(uid, { ids: Array.from({ length: 1001 }, (_, i) => i % 10) }),
  ),
  policyCase('array of 100 000 items', bad('policy'), (uid) =>
    withParams(uid, { ids: Array.from({ length: 100_000 }, () => 1) }),
  ),
  // --- not an object
  policyCase('null', bad('policy'), () => null),
  policyCase('a number', bad('policy'), () => 42),
  policyCase('a string', bad('policy'), () => '{"policy_name": "sample_policy"}'),
  policyCase('a boolean', bad('policy'), () => true),
  policyCase('an empty array', bad('policy'), () => []),
  policyCase('an array holding a valid policy', bad('policy'), (uid) => [samplePolicy(uid)]),
  policyCase('an empty object', bad('policy.policy_name'), () => ({})),
  // --- unicode and control characters
  policyCase('emoji, RTL, CJK and combining marks (kept verbatim)', ok, (uid) => ({
    ...samplePolicy(uid),
    policy_name: '🚦 سياسة 政策 ñ̃',
    description: 'e\u0301 \u200b zero-width \u200f rtl mark \u2028 line separator \u0085 next line',
  })),
  policyCase('tab, newline and CR in the description (kept verbatim)', ok, (uid) => ({
    ...samplePolicy(uid),
    description: 'line one\n\tline two\r\n',
  })),
  policyCase('newline in policy_name', bad('policy.policy_name'), (uid) => ({
    ...samplePolicy(uid),
    policy_name: 'a\nb',
  })),
  policyCase('NUL in policy_type', bad('policy.policy_type'), (uid) => ({
    ...samplePolicy(uid),
    policy_type: 'data\u0000governance',
  })),
  policyCase('BEL in the description', bad('policy.description'), (uid) => ({
    ...samplePolicy(uid),
    description: 'ring \u0007',
  })),
  policyCase('DEL in created_by', bad('policy.created_by'), (uid) => ({
    ...samplePolicy(uid),
    created_by: 'dbt\u007fuser',
  })),
  policyCase('escape sequence in a custom parameter', bad('policy.parameters.note'), (uid) =>
    withParams(uid, { note: '\u001b[31mred' }),
  ),
  policyCase('unpaired surrogate in the description', bad('policy.description'), (uid) => ({
    ...samplePolicy(uid),
    description: 'broken \ud800 text',
  })),
  policyCase('unpaired surrogate in a parameter key', bad('policy.parameters'), (uid) =>
    withParams(uid, { ['key\udc00']: 1 }),
  ),
  // --- SQL text: accepted and stored verbatim, the table survives
  policyCase('SQL text in every string field', ok, (uid) => ({
    policy_name: DROP,
    policy_type: SQL_INJECTIONS[1],
    description: SQL_INJECTIONS.join(' | '),
    priority: 'critical',
    created_by: SQL_INJECTIONS[2],
    expected_policy_id: `${uid} ${DROP}`,
    parameters: {
      retention_days: 1,
      classification: SQL_INJECTIONS[3],
      compliance_level: SQL_INJECTIONS[4],
      circuit_breaker_enabled: false,
      [DROP]: DROP,
      nested: { list: [...SQL_INJECTIONS] },
    },
  })),
  ...SQL_INJECTIONS.map((sql, i) =>
    policyCase(`SQL text ${i + 1} in policy_name and description`, ok, (uid) => ({
      ...samplePolicy(uid),
      policy_name: sql,
      description: sql,
    })),
  ),
  policyCase('SQL text as the expected_policy_id (a URL path segment)', ok, (uid) => ({
    ...samplePolicy(uid),
    expected_policy_id: `${uid}/../../policy/x?y=1#${SQL_INJECTIONS[2]}`,
  })),
  // --- per-execution options
  {
    name: 'options: a valid custom executionId (accepted)',
    expect: ok,
    build: (uid) => ({ policy: samplePolicy(uid), options: { executionId: `custom.${uid}:run@1` } }),
  },
  optionsCase('options: maxPolls as a string', bad('options.maxPolls'), { maxPolls: '3' }),
  optionsCase('options: maxPolls 0', bad('options.maxPolls'), { maxPolls: 0 }),
  optionsCase('options: negative pollIntervalMs', bad('options.pollIntervalMs'), { pollIntervalMs: -1 }),
  optionsCase('options: retry.maximumAttempts 0', bad('options.retry.maximumAttempts'), {
    retry: { maximumAttempts: 0 },
  }),
  optionsCase('options: unknown option', bad('options.sudo'), { sudo: true }),
  optionsCase('options: a string', bad('options'), 'maxPolls=3'),
  optionsCase('options: an array', bad('options'), [3]),
  optionsCase('options: executionId with a slash', bad('options.executionId'), { executionId: 'a/b' }),
  optionsCase('options: SQL text as executionId', bad('options.executionId'), { executionId: DROP }),
  optionsCase('options: executionId of 129 characters', bad('options.executionId'), {
    executionId: 'e'.repeat(129),
  }),
];
