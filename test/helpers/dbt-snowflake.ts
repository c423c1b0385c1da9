/**
 * dbt-snowflake against the Snowflake emulator, for tests: the dbt CLI of the project's venv run
 * with the environment dbt/profiles.yml reads for its `snowflake` target, and a throwaway minimal
 * dbt project (a table model, an incremental model with the merge strategy, data tests).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../src/config';
import { defaultDbtBin } from '../../src/dbt/runner';

export const DBT_BIN = defaultDbtBin(REPO_ROOT);

export interface DbtResult {
  code: number | null;
  output: string;
  ms: number;
}

/** SNOWFLAKE_* as dbt/profiles.yml's `snowflake` target reads them (any account/user/password). */
export function snowflakeEnv(endpoint: Record<string, string>, database: string, schema: string) {
  return {
    ...endpoint,
    SNOWFLAKE_ACCOUNT: 'emulator',
    SNOWFLAKE_USER: 'dbt_user',
    SNOWFLAKE_PASSWORD: 'emulator',
    SNOWFLAKE_ROLE: 'TRANSFORMER',
    SNOWFLAKE_WAREHOUSE: 'EMULATOR_WH',
    SNOWFLAKE_DATABASE: database,
    SNOWFLAKE_SCHEMA: schema,
  };
}

export function runDbt(
  projectDir: string,
  args: string[],
  env: Record<string, string>,
  workDir: string,
): Promise<DbtResult> {
  const started = Date.now();
  const paths = ['--log-path', path.join(workDir, 'logs')];
  if (args[0] !== 'debug') paths.push('--target-path', path.join(workDir, 'target')); // debug has none
  return new Promise((resolve, reject) => {
    const child = spawn(DBT_BIN, [...args, ...paths], {
      cwd: projectDir,
      env: {
        ...process.env,
        ...env,
        DBT_PROFILES_DIR: projectDir,
        DBT_SEND_ANONYMOUS_USAGE_STATS: 'false',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output, ms: Date.now() - started }));
  });
}

/**
 * A minimal dbt project in `dir` with the project's profile convention (SNOWFLAKE_* from the
 * environment): `events` (table) copies RAW_EVENTS, `events_latest` (incremental, merge on id)
 * keeps the newest row per id, a singular data test and unique/not_null tests.
 */
export function writeMiniProject(dir: string): void {
  const files: Record<string, string> = {
    'dbt_project.yml': `name: emulator_mini
version: '1.0.0'
config-version: 2
profile: emulator_mini
flags:
  send_anonymous_usage_stats: false
`,
    'profiles.yml': `emulator_mini:
  target: snowflake
  outputs:
    snowflake:
      type: snowflake
      account: "{{ env_var('SNOWFLAKE_ACCOUNT') }}"
      user: "{{ env_var('SNOWFLAKE_USER') }}"
      password: "{{ env_var('SNOWFLAKE_PASSWORD') }}"
      role: "{{ env_var('SNOWFLAKE_ROLE') }}"
      warehouse: "{{ env_var('SNOWFLAKE_WAREHOUSE') }}"
      database: "{{ env_var('SNOWFLAKE_DATABASE') }}"
      schema: "{{ env_var('SNOWFLAKE_SCHEMA') }}"
      host: "{{ env_var('SNOWFLAKE_HOST') }}"
      port: "{{ env_var('SNOWFLAKE_PORT') | as_number }}"
      protocol: "{{ env_var('SNOWFLAKE_PROTOCOL') }}"
      threads: 2
      connect_retries: 0
`,
    'models/events.sql': `{{ config(materialized='table') }}
select id, v, payload, updated_at from {{ target.database }}.{{ target.schema }}.raw_events
`,
    'models/events_latest.sql': `{{ config(materialized='incremental', unique_key='id', incremental_strategy='merge') }}
select id, v, payload:"step"::varchar as step, updated_at
from {{ ref('events') }}
{% if is_incremental() %}
where updated_at > (select coalesce(max(updated_at), '1900-01-01'::timestamp_ntz) from {{ this }})
{% endif %}
`,
    'models/schema.yml': `version: 2
models:
  - name: events_latest
    columns:
      - name: id
        data_tests: [unique, not_null]
`,
    'tests/versions_positive.sql': `select * from {{ ref('events_latest') }} where v <= 0
`,
  };
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
}
