/**
 * The dbt project and the worker must agree on the warehouse tables: dbt creates them on a fresh
 * warehouse (ensure_project_tables), the worker on start (DuckDbWarehouse.init), both from the one
 * definition in dbt/models/sources.yml. Proved by creating them both ways and comparing the schemas.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadWorkerConfig, REPO_ROOT } from '../../src/config';
import { dbtEnv, defaultDbtBin } from '../../src/dbt/runner';
import { withDuckDb } from '../../src/warehouse/duckdb/connection';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/warehouse';
import { TABLES } from '../../src/warehouse/tables';

const DBT_DIR = path.join(REPO_ROOT, 'dbt');

async function schemaOf(file: string): Promise<unknown[]> {
  return withDuckDb(
    file,
    async (c) =>
      (
        await c.runAndReadAll(
          `SELECT table_name, column_name, data_type, is_nullable, column_default
             FROM information_schema.columns ORDER BY table_name, column_name`,
        )
      ).getRowObjectsJS(),
    { readOnly: true, transaction: false },
  );
}

describe('dbt project <-> worker tables', () => {
  it('dbt and the worker create (and migrate) the same three tables, column for column', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tables-'));
    const byWorker = path.join(dir, 'worker.duckdb');
    const byDbt = path.join(dir, 'dbt.duckdb');
    // Both files start with a refresh log as an earlier version created it: both must add the rest.
    for (const file of [byWorker, byDbt]) {
      await withDuckDb(file, async (c) => {
        await c.run(
          `CREATE TABLE policy_model_refresh_log (refresh_id VARCHAR PRIMARY KEY, success BOOLEAN)`,
        );
        await c.run(`INSERT INTO policy_model_refresh_log VALUES ('old-1', true)`);
      });
    }
    await new DuckDbWarehouse({ path: byWorker }).init();
    const run = spawnSync(
      defaultDbtBin(REPO_ROOT),
      ['run-operation', 'ensure_project_tables', '--target-path', `${dir}/t`, '--log-path', `${dir}/l`],
      {
        cwd: DBT_DIR,
        env: {
          ...process.env,
          WAREHOUSE_PATH: byDbt,
          DBT_PROFILES_DIR: DBT_DIR,
          DBT_SEND_ANONYMOUS_USAGE_STATS: 'false',
        },
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    expect(run.status, run.stdout + run.stderr).toBe(0);
    const worker = await schemaOf(byWorker);
    expect(worker.map((c) => (c as { table_name: string }).table_name)).toEqual(
      expect.arrayContaining(Object.values(TABLES).map((t) => t.name)),
    );
    expect(await schemaOf(byDbt)).toEqual(worker);
    const kept = await withDuckDb(
      byDbt,
      async (c) => (await c.runAndReadAll(`SELECT refresh_id FROM policy_model_refresh_log`)).getRows(),
      { readOnly: true, transaction: false },
    );
    expect(kept).toEqual([['old-1']]);
  });
});

describe('worker dbt configuration', () => {
  it('model refresh is on by default, with the documented defaults', () => {
    const c = loadWorkerConfig({});
    expect(c.dbt).toMatchObject({
      taskQueue: 'policy-execution-dbt',
      workflowId: 'policy-model-refresh',
      debounceMs: 1000,
      maxWaitMs: 10_000,
      askIntervalMs: 5000,
      mode: 'daemon',
    });
    expect(c.dbt?.projectDir).toBe(path.resolve(__dirname, '../../dbt'));
    expect(c.dispatchIntervalMs).toBe(1000);
    expect(c.dispatchConcurrency).toBe(2);
    expect(loadWorkerConfig({ DISPATCH_CONCURRENCY: '4' }).dispatchConcurrency).toBe(4);
    expect(() => loadWorkerConfig({ DISPATCH_CONCURRENCY: '0' })).toThrow(/DISPATCH_CONCURRENCY/);
  });
  it('DBT_REFRESH=off turns it off; bad values are clear errors', () => {
    expect(loadWorkerConfig({ DBT_REFRESH: 'off' }).dbt).toBeNull();
    expect(() => loadWorkerConfig({ DBT_REFRESH: 'maybe' })).toThrow(/DBT_REFRESH must be 'on' or 'off'/);
    expect(() => loadWorkerConfig({ DBT_RUNNER: 'x' })).toThrow(/DBT_RUNNER/);
    expect(() => loadWorkerConfig({ DBT_REFRESH_DEBOUNCE_MS: '-1' })).toThrow(/DBT_REFRESH_DEBOUNCE_MS/);
    expect(() => loadWorkerConfig({ POLICY_TASK_QUEUE: 'q', DBT_TASK_QUEUE: 'q' })).toThrow(
      /DBT_TASK_QUEUE must differ from the worker's task queue/,
    );
  });
  it("dbt never gets the worker's API secrets, but keeps what its profiles need", () => {
    const env = dbtEnv(
      {
        dbtBin: 'dbt',
        projectDir: '/p',
        warehousePath: 'w.duckdb',
        targetPath: '/t',
        logPath: '/l',
        timeoutMs: 1,
      },
      {
        PATH: '/bin',
        POLICY_API_TOKEN: 'secret',
        TEMPORAL_API_KEY: 'k',
        SNOWFLAKE_PASSWORD: 'sf',
        DBT_TARGET: 'snowflake',
      },
    );
    expect(env.POLICY_API_TOKEN).toBeUndefined();
    expect(env.TEMPORAL_API_KEY).toBeUndefined();
    expect(env.SNOWFLAKE_PASSWORD).toBe('sf');
    expect(env.DBT_TARGET).toBe('snowflake');
    expect(env.WAREHOUSE_PATH).toBe(path.resolve('w.duckdb'));
    expect(env.DBT_SEND_ANONYMOUS_USAGE_STATS).toBe('false');
  });
});
