/**
 * The dbt project and the worker must agree on the warehouse tables: dbt creates them on a fresh
 * file (ensure_project_tables), the worker creates them on start (DUCKDB_DDL). Same DDL, same file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadWorkerConfig } from '../../src/config';
import { dbtEnv } from '../../src/dbt/runner';
import {
  DUCKDB_REFRESH_LOG_DDL,
  DUCKDB_REQUESTS_DDL,
  DUCKDB_STATE_DDL,
  SNOWFLAKE_STATE_DDL,
} from '../../src/warehouse/ddl';

const macro = fs.readFileSync(path.resolve(__dirname, '../../dbt/macros/ensure_project_tables.sql'), 'utf8');
const norm = (sql: string) => sql.replace(/\s+/g, ' ').trim();

/** The `set <name>` block of a dispatch branch, with the relation placeholders filled in. */
function ddlFromMacro(branch: 'default' | 'snowflake', name: string): string {
  const start = macro.indexOf(`{% macro ${branch}__project_tables_ddl`);
  const body = macro.slice(start, macro.indexOf('{% endmacro %}', start));
  const m = new RegExp(`\\{%-? set ${name} -?%\\}([\\s\\S]*?)\\{%-? endset -?%\\}`).exec(body);
  if (!m?.[1]) throw new Error(`no ${name} in ${branch}__project_tables_ddl`);
  return m[1]
    .replace('{{ state }}', 'policy_execution_state')
    .replace('{{ requests }}', 'policy_execution_requests')
    .replace('{{ refresh_log }}', 'policy_model_refresh_log');
}

describe('dbt project <-> worker DDL', () => {
  it('DuckDB: the three tables are created identically by dbt and by the worker', () => {
    expect(norm(ddlFromMacro('default', 'state_ddl'))).toBe(norm(DUCKDB_STATE_DDL));
    expect(norm(ddlFromMacro('default', 'requests_ddl'))).toBe(norm(DUCKDB_REQUESTS_DDL));
    expect(norm(ddlFromMacro('default', 'refresh_log_ddl'))).toBe(norm(DUCKDB_REFRESH_LOG_DDL));
  });
  it('Snowflake: the state table matches the documented Snowflake DDL', () => {
    expect(norm(ddlFromMacro('snowflake', 'state_ddl'))).toBe(norm(SNOWFLAKE_STATE_DDL));
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
      mode: 'daemon',
    });
    expect(c.dbt?.projectDir).toBe(path.resolve(__dirname, '../../dbt'));
    expect(c.dispatchIntervalMs).toBe(1000);
  });
  it('DBT_REFRESH=off turns it off; bad values are clear errors', () => {
    expect(loadWorkerConfig({ DBT_REFRESH: 'off' }).dbt).toBeNull();
    expect(() => loadWorkerConfig({ DBT_REFRESH: 'maybe' })).toThrow(/DBT_REFRESH must be 'on' or 'off'/);
    expect(() => loadWorkerConfig({ DBT_RUNNER: 'x' })).toThrow(/DBT_RUNNER/);
    expect(() => loadWorkerConfig({ DBT_REFRESH_DEBOUNCE_MS: '-1' })).toThrow(/DBT_REFRESH_DEBOUNCE_MS/);
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
