/**
 * Bulk inputs without a server: stable ids (the same input, the same id; identical inputs counted),
 * the input wrapper, validation before anything starts, and reading JSON Lines files and
 * directories with `file:line` problems.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  bulkInputFrom,
  canonicalJson,
  deriveExecutionIds,
  idPrefixProblem,
  inputDigest,
  prepareBulk,
} from '../../src/client';
import { PoliciesInputError, readPolicies } from '../../src/cli/policies-input';

const POLICY = {
  policy_name: 'p',
  policy_type: 'security',
  priority: 'high',
  created_by: 'tester',
  parameters: { retention_days: 7, classification: 'internal' },
};

describe('stable ids', () => {
  it('canonical JSON sorts keys at every level and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: undefined, x: null }], c: 'é' } })).toBe(
      '{"a":{"c":"é","d":[2,{"x":null,"z":1}]},"b":1}',
    );
    expect(canonicalJson([undefined, 1])).toBe('[null,1]');
    expect(canonicalJson('a"b')).toBe('"a\\"b"');
  });

  it('the digest ignores key order and treats no options as {}', () => {
    const reordered = {
      parameters: { classification: 'internal', retention_days: 7 },
      created_by: 'tester',
      priority: 'high',
      policy_type: 'security',
      policy_name: 'p',
    };
    expect(inputDigest(reordered, undefined)).toBe(inputDigest(POLICY, {}));
    expect(inputDigest(POLICY, {})).toMatch(/^[0-9a-f]{16}$/);
    expect(inputDigest(POLICY, { maxPolls: 5 })).not.toBe(inputDigest(POLICY, {}));
    expect(inputDigest({ ...POLICY, priority: 'low' }, {})).not.toBe(inputDigest(POLICY, {}));
  });

  it('the same inputs give the same ids; identical inputs are numbered; explicit ids are kept', () => {
    const other = { ...POLICY, policy_name: 'q' };
    const inputs = [
      { policy: POLICY },
      { policy: other },
      { policy: POLICY },
      { policy: POLICY, id: 'mine' },
    ];
    const ids = deriveExecutionIds(inputs);
    const d = inputDigest(POLICY, undefined);
    expect(ids).toEqual([`bulk-${d}-1`, `bulk-${inputDigest(other, undefined)}-1`, `bulk-${d}-2`, 'mine']);
    expect(deriveExecutionIds(inputs)).toEqual(ids);
    // Another order of distinct inputs keeps each one's id.
    expect(deriveExecutionIds([inputs[1]!, inputs[0]!])).toEqual([ids[1], ids[0]]);
    expect(deriveExecutionIds([{ policy: POLICY }], 'nightly-2024')).toEqual([`nightly-2024-${d}-1`]);
  });

  it('an id prefix must make valid execution ids', () => {
    expect(idPrefixProblem('bulk')).toBeNull();
    expect(idPrefixProblem('has space')).toMatch(/^id prefix: must be 1-128 of/);
    expect(idPrefixProblem('x'.repeat(120))).not.toBeNull();
  });
});

describe('bulk inputs', () => {
  it('a value is a bare policy or a {id, policy, options} wrapper', () => {
    expect(bulkInputFrom(POLICY)).toEqual({ ok: true, input: { policy: POLICY } });
    expect(bulkInputFrom({ id: 'a', policy: POLICY, options: { maxPolls: 2 } })).toEqual({
      ok: true,
      input: { id: 'a', policy: POLICY, options: { maxPolls: 2 } },
    });
    expect(bulkInputFrom({ policy: POLICY, extra: 1 })).toEqual({
      ok: false,
      message: 'extra: unknown field (a wrapper has id, policy and options)',
    });
    expect(bulkInputFrom({ policy: POLICY, id: 7 })).toMatchObject({
      ok: false,
      message: 'id: must be a string',
    });
    expect(bulkInputFrom({ policy: POLICY, options: [] })).toMatchObject({ ok: false });
  });

  it('prepareBulk checks every input with the workflow rules and merges options (the input wins)', () => {
    const ok = prepareBulk([{ policy: POLICY, options: { maxPolls: 5 } }, { policy: POLICY }], {
      options: { maxPolls: 2, refreshModel: false },
    });
    expect(ok.ok).toBe(true);
    if (!ok.ok) return;
    expect(ok.inputs.map((i) => i.options)).toEqual([
      { maxPolls: 5, refreshModel: false },
      { maxPolls: 2, refreshModel: false },
    ]);
    const bad = prepareBulk([
      { policy: { ...POLICY, priority: 'urgent' } },
      { policy: POLICY, options: { maxPolls: 0 } },
      { policy: POLICY, id: 'bad id' },
      { policy: POLICY, id: 'same' },
      { policy: { ...POLICY, policy_name: 'other' }, id: 'same' },
    ]);
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.problems).toEqual([
      { index: 0, message: 'policy.priority: must be one of low, medium, high, critical' },
      { index: 1, message: 'options.maxPolls: must be at least 1' },
      { index: 2, message: expect.stringMatching(/^id: must be 1-128 of/) as string },
      { index: 4, message: "id: 'same' is the id of an earlier input too", duplicateOf: 3 },
    ]);
  });
});

describe('reading --policies', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulk-input-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const common = { options: {} };

  it('JSON Lines: one input a line, blank lines skipped, each with its file:line', () => {
    const file = path.join(dir, 'ok.jsonl');
    const lines = [JSON.stringify(POLICY), '', JSON.stringify({ id: 'x-1', policy: POLICY }), '  '];
    fs.writeFileSync(file, lines.join('\r\n'));
    const read = readPolicies(file, common);
    expect(read.map((r) => r.where)).toEqual([`${file}:1`, `${file}:3`]);
    expect(read[1]?.input).toEqual({ id: 'x-1', policy: POLICY });
  });

  it('every bad line is named with file:line and why, in file order', () => {
    const file = path.join(dir, 'bad.jsonl');
    fs.writeFileSync(
      file,
      [
        JSON.stringify(POLICY),
        JSON.stringify({ ...POLICY, priority: 'urgent' }),
        '{"policy_name": ',
        JSON.stringify({ policy: POLICY, id: 'dup' }),
        JSON.stringify({ policy: { ...POLICY, policy_name: 'b' }, id: 'dup' }),
        JSON.stringify({ policy: POLICY, note: 'x' }),
      ].join('\n'),
    );
    let error: unknown;
    try {
      readPolicies(file, common);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(PoliciesInputError);
    const problems = (error as PoliciesInputError).problems;
    expect(problems).toEqual([
      `${file}:2: policy.priority: must be one of low, medium, high, critical`,
      expect.stringMatching(new RegExp(`^${file}:3: not valid JSON: `)) as string,
      `${file}:5: id: 'dup' is the id of an earlier input too (first at ${file}:4)`,
      `${file}:6: note: unknown field (a wrapper has id, policy and options)`,
    ]);
    expect((error as Error).message).toMatch(/^4 bad inputs; nothing was started:\n {2}/);
  });

  it('a directory: its *.json files in name order, one input each', () => {
    const sub = path.join(dir, 'policies');
    fs.mkdirSync(sub);
    fs.writeFileSync(path.join(sub, 'b.json'), JSON.stringify({ policy: POLICY, options: { maxPolls: 2 } }));
    fs.writeFileSync(path.join(sub, 'a.json'), JSON.stringify(POLICY, null, 2));
    fs.writeFileSync(path.join(sub, 'notes.txt'), 'not an input');
    const read = readPolicies(sub, common);
    expect(read.map((r) => path.basename(r.where))).toEqual(['a.json', 'b.json']);
    expect(read[1]?.input.options).toEqual({ maxPolls: 2 });
  });

  it('nothing to read is a usage error', () => {
    const empty = path.join(dir, 'empty.jsonl');
    fs.writeFileSync(empty, '\n\n');
    expect(() => readPolicies(empty, common)).toThrow(/no policies in/);
    expect(() => readPolicies(path.join(dir, 'missing.jsonl'), common)).toThrow(/cannot read --policies/);
  });
});
