/**
 * The Temporal plugin's rules without a server: its options and their defaults, the search
 * attribute commands, and how its workflows join a worker's own (the generated entry module, the
 * bundler hook called after the worker hook). The plugin on a real worker:
 * test/integration/example-project.test.ts and, its dispatcher, plugin-dispatcher.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../src/plugin/options';
import { searchAttributeCommands } from '../../src/plugin/search-attributes';
import { PolicyExecutionPlugin } from '../../src/plugin/worker-plugin';
import { combinedWorkflowsPath, PRELOAD_MODULES, WORKFLOWS_PATH } from '../../src/plugin/workflows';

const base = {
  policyApi: { url: 'http://127.0.0.1:1' },
  warehouse: { kind: 'duckdb' as const, path: 'w.duckdb' },
};

describe('plugin options', () => {
  it("defaults follow the worker's task queue and the warehouse kind", () => {
    const r = resolveOptions(base, 'my-app');
    expect(r.refresh).toMatchObject({
      workflowId: 'policy-model-refresh',
      taskQueue: 'my-app-dbt',
      // The refresher runs on the worker's own queue; its dbt runs go to the dbt queue.
      refresherTaskQueue: 'my-app',
      debounceMs: 1000,
      maxWaitMs: 10_000,
      askIntervalMs: 5000,
    });
    expect(r.dbtWorker).toMatchObject({ target: 'duckdb', mode: 'daemon' });
    expect(r.dispatchIntervalMs).toBe(1000);
    expect(r.dispatchConcurrency).toBe(2);
    expect(resolveOptions({ ...base, dispatcher: { concurrency: 8 } }, 'q').dispatchConcurrency).toBe(8);
    expect(r.reconcile).toMatchObject({ intervalMs: 15_000 });
    expect(r.api).toMatchObject({ baseUrl: 'http://127.0.0.1:1', profile: 'policy', token: undefined });
  });

  it('turns parts off', () => {
    const r = resolveOptions({ ...base, modelRefresh: false, dispatcher: false, reconciler: false }, 'q');
    expect(r.refresh).toBeNull();
    expect(r.dbtWorker).toBeNull();
    expect(r.dispatchIntervalMs).toBe(0);
    expect(r.reconcile).toBeNull();
    expect(resolveOptions({ ...base, modelRefresh: { dbtWorker: false } }, 'q').dbtWorker).toBeNull();
  });

  it('names a bad option where the plugin is made', () => {
    expect(() => new PolicyExecutionPlugin({ ...base, policyApi: { url: 'not a url' } })).toThrow(
      /policyApi.url/,
    );
    expect(() => new PolicyExecutionPlugin({ ...base, maxApiRequestsPerSecond: 0 })).toThrow(
      /maxApiRequestsPerSecond/,
    );
    expect(
      () => new PolicyExecutionPlugin({ ...base, breaker: { threshold: -1, halfOpenAfterMs: 5 } }),
    ).toThrow(/breaker.threshold/);
    expect(() => new PolicyExecutionPlugin({ ...base, dispatcher: { concurrency: 0 } })).toThrow(
      /dispatcher.concurrency must be a whole number >= 1/,
    );
    expect(
      () =>
        new PolicyExecutionPlugin({ ...base, policyApi: { url: 'http://127.0.0.1:1', timeoutMs: 40_001 } }),
    ).toThrow(/policyApi.timeoutMs must be at most 40000/);
    // The dbt worker polls the dbt queue for its one activity: never the worker's own queue.
    expect(() => resolveOptions({ ...base, modelRefresh: { taskQueue: 'q' } }, 'q')).toThrow(
      /modelRefresh.taskQueue must differ from the worker's task queue/,
    );
  });
});

describe('search attributes', () => {
  it('prints one create command per attribute', () => {
    expect(searchAttributeCommands('prod')).toEqual([
      'temporal operator search-attribute create --namespace prod --name PolicyId --type Keyword',
      'temporal operator search-attribute create --namespace prod --name PolicyExecutionStatus --type Keyword',
    ]);
  });
});

describe("the plugin's workflows next to the worker's own", () => {
  it('writes one CommonJS entry per combination, and does not wrap it again', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pe-plugin-entry-'));
    try {
      const user = path.join(dir, 'my-workflows.js');
      const entry = combinedWorkflowsPath(user, dir);
      expect(path.extname(entry)).toBe('.cjs');
      const code = fs.readFileSync(entry, 'utf8');
      expect(code).toContain(`require(${JSON.stringify(user)})`);
      expect(code).toContain(`require(${JSON.stringify(WORKFLOWS_PATH)})`);
      expect(code).toMatch(/policyExecution: ours.policyExecution, dbtRefresh: ours.dbtRefresh/);
      expect(combinedWorkflowsPath(user, dir)).toBe(entry);
      expect(combinedWorkflowsPath(entry, dir)).toBe(entry);
      expect(combinedWorkflowsPath(WORKFLOWS_PATH, dir)).toBe(WORKFLOWS_PATH);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the bundler hook keeps an already combined entry and adds the preloaded modules once', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pe-plugin-entry-'));
    try {
      const plugin = new PolicyExecutionPlugin({ ...base, workflowsEntryDir: dir });
      const once = plugin.configureBundler({ workflowsPath: path.join(dir, 'mine.js') });
      const twice = plugin.configureBundler(once);
      expect(twice.workflowsPath).toBe(once.workflowsPath);
      expect(twice.preloadModules).toEqual([...PRELOAD_MODULES]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
