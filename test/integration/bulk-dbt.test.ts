/**
 * `dbt run-operation run_policy_workflow` over the rows of a model or a source, with the real parts:
 * the real dev server, the simulator over HTTP, a real DuckDB file, the request dispatcher and the
 * real dbt CLI. The project is a copy of dbt/ with two test-only additions (a tiny model and a
 * source over a table the test creates), so the repository's project holds no fixtures.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDuckDb } from '../../src/warehouse/duckdb/connection';
import { DBT_BIN, DBT_PROJECT_DIR, startHarness, uniqueId, type Harness } from '../helpers/harness';

let h: Harness;
let project: string;

interface DbtResult {
  code: number | null;
  output: string;
}

function dbt(args: string[]): Promise<DbtResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(DBT_BIN, [...args, '--log-path', path.join(project, 'logs')], {
      cwd: project,
      env: {
        ...process.env,
        WAREHOUSE_PATH: h.warehousePath,
        DBT_PROFILES_DIR: project,
        DBT_SEND_ANONYMOUS_USAGE_STATS: 'false',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** This file runs on DuckDB: the harness's warehouse file. */
function duckdbFile(): string {
  if (!h.warehousePath) throw new Error('bulk-dbt runs on the DuckDB warehouse');
  return h.warehousePath;
}

function runPolicyWorkflow(args: Record<string, unknown>): Promise<DbtResult> {
  return dbt(['run-operation', 'run_policy_workflow', '--args', JSON.stringify(args)]);
}

async function query(sql: string): Promise<unknown[][]> {
  return withDuckDb(duckdbFile(), async (c) => (await c.runAndReadAll(sql)).getRows(), {
    readOnly: true,
    transaction: false,
  });
}

async function requestIds(): Promise<string[]> {
  return (await query(`SELECT request_id FROM policy_execution_requests ORDER BY request_id`)).map((r) =>
    String(r[0]),
  );
}

const sql = (s: string | null) => (s === null ? 'null' : `'${s.replace(/'/g, "''")}'`);
const FAST = { pollIntervalMs: 0, refreshModel: false };

beforeAll(async () => {
  h = await startHarness({ dispatcher: { intervalMs: 300 } });
  project = path.join(h.tmpDir, 'dbt');
  for (const part of ['dbt_project.yml', 'profiles.yml', 'models', 'macros', 'tests', 'plugins'])
    fs.cpSync(path.join(DBT_PROJECT_DIR, part), path.join(project, part), { recursive: true });
  fs.mkdirSync(path.join(project, 'models', 'bulk_fixture'));
});
afterAll(async () => {
  await h?.close();
});

describe('run_policy_workflow from_model', () => {
  const pids = Array.from({ length: 4 }, () => uniqueId('dbtrow'));
  // Five rows: parameters as JSON text or NULL, an options column, and two identical rows (two runs).
  const rows = [
    [
      `'row_a'`,
      `'security'`,
      `'first row'`,
      `'high'`,
      `'tester'`,
      sql(pids[0]!),
      sql('{"retention_days": 7}'),
      'null',
    ],
    [`'row_b'`, `'governance'`, 'null', `'low'`, `'tester'`, sql(pids[1]!), 'null', sql('{"maxPolls": 4}')],
    [
      `'row_c'`,
      `'security'`,
      'null',
      `'critical'`,
      `'ops'`,
      sql(pids[2]!),
      sql('{"classification": "x"}'),
      'null',
    ],
    [`'row_d'`, `'security'`, 'null', `'medium'`, `'ops'`, sql(pids[3]!), 'null', 'null'],
    [`'row_d'`, `'security'`, 'null', `'medium'`, `'ops'`, sql(pids[3]!), 'null', 'null'],
  ];

  beforeAll(async () => {
    h.sim.scriptPolicy(pids[1]!, { statuses: ['pending', 'pending', 'ready'] });
    fs.writeFileSync(
      path.join(project, 'models', 'bulk_fixture', 'tiny_policies.sql'),
      `select * from (values\n    ${rows.map((r) => `(${r.join(', ')})`).join(',\n    ')}\n) as t (\n` +
        `    policy_name, policy_type, description, priority, created_by, expected_policy_id, parameters, options\n)\n`,
    );
    const build = await dbt(['run', '--select', 'tiny_policies']);
    expect(build.code, build.output).toBe(0);
  });

  it('queues one request per row, and nothing new when run again', async () => {
    const op = await runPolicyWorkflow({ from_model: 'tiny_policies', options: FAST });
    expect(op.code, op.output).toBe(0);
    expect(op.output).toContain(
      'run_policy_workflow: model tiny_policies: 5 rows, 0 already queued, queueing 5',
    );
    expect(op.output).toContain('run_policy_workflow: queued 5/5');
    const ids = await requestIds();
    expect(ids).toHaveLength(5);
    expect(ids.every((id) => /^dbt-req-[0-9a-f]{16}-[12]$/.test(id))).toBe(true);
    expect(ids.filter((id) => id.endsWith('-2'))).toHaveLength(1); // the repeated row

    const again = await runPolicyWorkflow({ from_model: 'tiny_policies', options: FAST });
    expect(again.code, again.output).toBe(0);
    expect(again.output).toContain('5 rows, 5 already queued, queueing 0');
    expect(await requestIds()).toEqual(ids);

    // The stored requests: the row's fields (NULLs left out, JSON text parsed) and options merged.
    const stored = await query(
      `SELECT CAST(policy AS VARCHAR), CAST(options AS VARCHAR) FROM policy_execution_requests
        WHERE json_extract_string(policy, '$.policy_name') IN ('row_a', 'row_b') ORDER BY 1`,
    );
    expect(JSON.parse(String(stored[0]?.[0]))).toEqual({
      policy_name: 'row_a',
      policy_type: 'security',
      description: 'first row',
      priority: 'high',
      created_by: 'tester',
      expected_policy_id: pids[0],
      parameters: { retention_days: 7 },
    });
    expect(JSON.parse(String(stored[1]?.[1]))).toEqual({ ...FAST, maxPolls: 4 });
  });

  it('with wait: true it follows them to the end: all completed, one workflow per request', async () => {
    const op = await runPolicyWorkflow({
      from_model: 'tiny_policies',
      options: FAST,
      wait: true,
      check_every_seconds: 1,
      wait_timeout_seconds: 120,
    });
    expect(op.code, op.output).toBe(0);
    expect(op.output).toContain('5 rows, 5 already queued, queueing 0');
    expect(op.output).toMatch(/run_policy_workflow: \d\/5 started, \d completed, \d failed/);
    expect(op.output).toMatch(
      /run_policy_workflow: summary: 5 executions: 5 completed, 0 failed, 0 not ended/,
    );
    const ids = await requestIds();
    for (const id of ids) {
      expect(await h.warehouse.getState(id)).toMatchObject({ status: 'completed', workflow_id: id });
      const runs = [];
      for await (const wf of h.env.client.workflow.list({ query: `WorkflowId = '${id}'` }))
        runs.push(wf.runId);
      expect(runs).toHaveLength(1);
    }
    const slow = ids.map((id) => h.warehouse.getState(id));
    expect((await Promise.all(slow)).find((r) => r?.policy_id === pids[1])?.poll_count).toBe(3);
    const creates = pids.flatMap((pid) =>
      h.sim.requests({ policyId: pid }).filter((r) => r.path === '/createpolicy'),
    );
    expect(creates).toHaveLength(5);
  });
});

describe('run_policy_workflow from_source', () => {
  const ok = uniqueId('srcok');
  const failing = uniqueId('srcfail');

  beforeAll(async () => {
    h.sim.scriptPolicy(failing, { statuses: ['failed'] });
    await withDuckDb(duckdbFile(), async (c) => {
      await c.run(`CREATE TABLE raw_policies (policy_name VARCHAR, policy_type VARCHAR, priority VARCHAR,
                     created_by VARCHAR, expected_policy_id VARCHAR, parameters JSON, options JSON, note VARCHAR)`);
      await c.run(`INSERT INTO raw_policies VALUES
          ('src_ok', 'security', 'high', 'tester', ${sql(ok)}, '{"retention_days": 30}', NULL, 'an extra column'),
          ('src_fail', 'security', 'high', 'tester', ${sql(failing)}, NULL, '{"maxPolls": 2}', NULL)`);
      await c.run(`CREATE TABLE bad_policies AS SELECT * FROM raw_policies`);
      await c.run(`UPDATE bad_policies SET parameters = NULL, options = NULL`);
      await c.run(`ALTER TABLE bad_policies ALTER parameters TYPE VARCHAR`);
      await c.run(`UPDATE bad_policies SET parameters = 'retention_days=30' WHERE policy_name = 'src_fail'`);
    });
    fs.writeFileSync(
      path.join(project, 'models', 'bulk_fixture', 'sources.yml'),
      `version: 2\nsources:\n  - name: bulk_fixture\n    schema: main\n    tables:\n      - name: raw_policies\n      - name: bad_policies\n`,
    );
  });

  it('a row that cannot be read is refused before anything is queued', async () => {
    const before = await requestIds();
    const op = await runPolicyWorkflow({ from_source: { source: 'bulk_fixture', table: 'bad_policies' } });
    expect(op.code).not.toBe(0);
    expect(op.output).toMatch(
      /source bulk_fixture\.bad_policies: 1 row\(s\) cannot be read; nothing was queued/,
    );
    expect(op.output).toContain('(policy_name src_fail): parameters is not a JSON object: retention_days=30');
    expect(await requestIds()).toEqual(before);
  });

  it('with wait: true a failed execution fails the operation, named with its error_message', async () => {
    const op = await runPolicyWorkflow({
      from_source: { source: 'bulk_fixture', table: 'raw_policies' },
      options: FAST,
      wait: true,
      check_every_seconds: 1,
      wait_timeout_seconds: 120,
    });
    expect(op.code, op.output).not.toBe(0);
    expect(op.output).toContain('source bulk_fixture.raw_policies: 2 rows, 0 already queued, queueing 2');
    // Checked more than once: the executions cannot end before the first pause releases the file.
    expect(
      op.output.match(/run_policy_workflow: \d\/2 started, \d completed, \d failed/g)?.length,
    ).toBeGreaterThan(1);
    expect(op.output).toMatch(/summary: 2 executions: 1 completed, 1 failed, 0 not ended/);
    expect(op.output).toContain('run_policy_workflow: 1 of 2 executions failed');
    const failedRow = (
      await query(
        `SELECT workflow_id, error_message FROM policy_execution_state WHERE policy_id = ${sql(failing)}`,
      )
    )[0];
    expect(String(failedRow?.[1])).toMatch(/^poll policy status: /);
    expect(op.output).toContain(String(failedRow?.[0]));
    expect(op.output).toContain(String(failedRow?.[1]).slice(0, 60));
  });
});
