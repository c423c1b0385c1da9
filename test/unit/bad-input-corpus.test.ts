/**
 * The bad-input corpus against the input rules the workflow runs first: every case is either
 * rejected naming the field, or accepted unchanged (what the state table stores and the API gets).
 * Validation never throws. The chaos scenario `bad-input` runs the same corpus as real workflows.
 */
import { describe, expect, it } from 'vitest';
import { BAD_INPUT_CORPUS } from '../fixtures/corpora/bad-input';
import { validateOptions, validatePolicy } from '../../src/policy';

/** The workflow's order: options and policy are both validated, the policy's problem is reported first. */
function validate(policy: unknown, options: unknown) {
  const o = validateOptions(options);
  const p = validatePolicy(policy);
  if (!p.ok) return p;
  if (!o.ok) return o;
  return { ok: true as const, policy: p.value };
}

describe('bad-input corpus', () => {
  it('has at least 50 cases with unique names', () => {
    expect(BAD_INPUT_CORPUS.length).toBeGreaterThanOrEqual(50);
    expect(new Set(BAD_INPUT_CORPUS.map((c) => c.name)).size).toBe(BAD_INPUT_CORPUS.length);
  });

  it.each(BAD_INPUT_CORPUS.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const { policy, options } = c.build('corpus-unit-1');
    const r = validate(policy, options);
    if (c.expect.accepted) {
      expect(r).toMatchObject({ ok: true });
      // Verbatim: the validated value is the input, key for key (nothing dropped, added or coerced).
      if (r.ok) expect(JSON.stringify(r.policy)).toBe(JSON.stringify(policy));
    } else {
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.field.startsWith(c.expect.field), `field ${r.field} vs ${c.expect.field}`).toBe(true);
        // The message starts with the field it names, and says something about it.
        expect(r.message.startsWith(`${r.field}: `)).toBe(true);
        expect(r.message.length).toBeGreaterThan(r.field.length + 4);
        // Bounded, so an error row never carries a huge input back.
        expect(r.message.length).toBeLessThan(1000);
      }
    }
  });

  it('never throws, whatever the depth', () => {
    for (const depth of [100, 2_500, 3_000, 4_000, 20_000]) {
      let v: unknown = 0;
      for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
      expect(() => validatePolicy({ policy_name: 'p', parameters: { v } })).not.toThrow();
      expect(() => validateOptions({ retry: v })).not.toThrow();
    }
  });
});
