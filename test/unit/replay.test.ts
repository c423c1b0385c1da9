/**
 * Determinism guard: histories recorded from real executions (test/fixtures/histories, see the README
 * there) are replayed against today's workflow code. A change that would break executions in flight
 * when a worker is upgraded — a new, removed or reordered activity, timer or local activity — fails
 * here with a DeterminismViolationError. Such a change needs `patched()` (or a new workflow type), and
 * then a new fixture recorded next to the old ones, never in place of them.
 * No server: Temporal's replayer runs the histories in-process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildWorkflowBundle, latin1Only } from '../../src/plugin/workflows';

const DIR = path.resolve(__dirname, '..', 'fixtures', 'histories');
const fixtures = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

/** The bundler's logger: only errors, and only when asked. */
const bundlerLogger = (error: (...args: unknown[]) => void = () => {}) => {
  const quiet = () => {};
  return { info: quiet, debug: quiet, trace: quiet, warn: quiet, log: quiet, error };
};

// Our bundles as `make build` ships them (Latin-1 only).
let bundle: WorkflowBundleOption;
beforeAll(async () => {
  bundle = { code: await buildWorkflowBundle('all', bundlerLogger(console.error)) };
});

describe('recorded histories replay against the current workflow code', () => {
  it('has fixtures for both workflow types and every ending', () => {
    expect(fixtures).toEqual(
      expect.arrayContaining([
        'policy-completed.json',
        'policy-completed-run-keys.json',
        'policy-completed-poll-rows.json',
        'policy-completed-final-row.json',
        'policy-error-not-ready.json',
        'policy-error-invalid-input.json',
        'policy-error-api.json',
        'dbt-refresh.json',
        'dbt-refresh-on-main-queue.json',
        'dbt-refresh-wakes-on-asks.json',
      ]),
    );
  });

  it('no fixture names a directory outside the repository (paths recorded as <repo>)', () => {
    for (const file of fixtures) {
      const text = fs.readFileSync(path.join(DIR, file), 'utf8');
      expect(text, file).not.toMatch(/[(\s"](\/(home|root|work|tmp|Users|var|opt)\/)/);
    }
  });

  it.each(fixtures)('%s', async (file) => {
    const history: unknown = JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8'));
    await expect(
      Worker.runReplayHistory({ workflowBundle: bundle }, history, path.basename(file, '.json')),
    ).resolves.toBeUndefined();
  });

  it('a change the histories do not allow fails the replay (the guard can fail)', async () => {
    // The completed history replayed against a workflow that schedules its activities differently.
    const history: unknown = JSON.parse(fs.readFileSync(path.join(DIR, 'policy-completed.json'), 'utf8'));
    const changed = await bundleWorkflowCode({
      workflowsPath: path.resolve(__dirname, '..', 'fixtures', 'changed-workflow.ts'),
      logger: bundlerLogger(),
    });
    await expect(Worker.runReplayHistory({ workflowBundle: changed }, history, 'changed')).rejects.toThrow(
      /[Nn]ondetermin|DeterminismViolation/,
    );
  });
});

describe('the shipped bundle (make build: dist/workflow-bundle.js)', () => {
  it("holds zod's English messages and none of its other languages", () => {
    const file = path.resolve(__dirname, '..', '..', 'dist', 'workflow-bundle.js');
    expect(fs.existsSync(file), `${file} is missing: run make build`).toBe(true);
    const code = fs.readFileSync(file, 'utf8');
    // dist/ is CommonJS, which webpack cannot prune: without the alias every locale is in (~300 KB).
    expect(code).toContain('./node_modules/zod/v4/locales/en.cjs');
    expect(code).toContain('Invalid input: expected');
    expect(code).not.toMatch(/\.\/node_modules\/zod\/v4\/locales\/(?!en\.)[a-zA-Z-]+\.c?js/);
  });

  it('holds both workflows: the refresher runs on the policy workers (docs/design.md, decision 11)', () => {
    const code = fs.readFileSync(path.resolve(__dirname, '..', '..', 'dist', 'workflow-bundle.js'), 'utf8');
    expect(code).toMatch(/function dbtRefresh\(/);
    expect(code).toMatch(/function policyExecution\(/);
  });

  it('is Latin-1 only (V8 holds it at one byte per character)', () => {
    const code = fs.readFileSync(path.resolve(__dirname, '..', '..', 'dist', 'workflow-bundle.js'), 'utf8');
    expect(code.match(/[\u0100-\uffff]/g) ?? []).toEqual([]);
  });
});

describe('latin1Only: escapes that keep what the code means', () => {
  it.each([
    ['"a—b"', 'a—b'],
    ['"\\→"', '→'],
    ['`…${1}`', '…1'],
    ['/^\\→$/.test("→")', true],
    ['/^[—-→]$/.test("…")', true],
    ['"\\\\—"', '\\—'],
    ['/* — */ 1', 1],
  ])('%s', (source, value) => {
    const escaped = latin1Only(source);
    expect(escaped).not.toMatch(/[\u0100-\uffff]/);
    // Indirect eval: the escaped code evaluates to the same value.
    expect((0, eval)(escaped)).toEqual(value);
  });
});
