/**
 * The Snowflake emulator (devtools/snowflake-emulator: fakesnow's server plus our compatibility
 * layer) with the two clients that will use it: the Node driver snowflake-sdk and dbt-snowflake.
 * One test per gap the layer closes (its README lists them): each fails against fakesnow alone.
 * Prints the emulator's start-up time and the latency of a 100-row MERGE.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type snowflake from 'snowflake-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSnowflakeEmulator, type SnowflakeEmulator } from '../../devtools/snowflake-emulator/launch';
import { REPO_ROOT } from '../../src/config';
import { runDbt, snowflakeEnv, writeMiniProject, type DbtResult } from '../helpers/dbt-snowflake';
import { connect, disconnect, driverLog, exec, execError, quietDriverLog } from '../helpers/snowflake-sdk';

const DATABASE = 'EMU_DB';
const SCHEMA = 'EMU';
const QUERY_TAG = 'policy_execution_test';

/** The state-table-like upsert: a multi-row MERGE from bound VALUES, version-guarded. */
function mergeSql(rows: number): string {
  const values = Array.from({ length: rows }, () => '(?, ?, ?, ?, ?)').join(', ');
  return `MERGE INTO events t USING (
      SELECT column1 AS id, column2 AS v, PARSE_JSON(column3) AS payload,
             TO_TIMESTAMP_NTZ(column4) AS updated_at, column5 AS done
      FROM VALUES ${values}) s
    ON t.id = s.id
    WHEN MATCHED AND s.v > t.v THEN UPDATE SET v = s.v, payload = s.payload, updated_at = s.updated_at, done = s.done
    WHEN NOT MATCHED THEN INSERT (id, v, payload, updated_at, done)
      VALUES (s.id, s.v, s.payload, s.updated_at, s.done)`;
}

type EventRow = [id: string, v: number, payload: string, updatedAt: string, done: boolean];

let emulator: SnowflakeEmulator;
let tmpDir: string;

beforeAll(async () => {
  quietDriverLog();
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'snowflake-emulator-'));
  emulator = await startSnowflakeEmulator();
  console.log(`snowflake emulator: started in ${emulator.startupMs} ms on port ${emulator.port}`);
});

afterAll(async () => {
  await emulator?.stop();
  fs.rmSync(tmpDir, { recursive: true, force: true });
});

describe('snowflake emulator with snowflake-sdk', () => {
  let db: snowflake.Connection;

  beforeAll(async () => {
    db = await connect({
      ...emulator.connectionOptions,
      database: DATABASE,
      schema: SCHEMA,
      queryTag: QUERY_TAG,
    });
  });

  afterAll(async () => {
    await disconnect(db);
  });

  it('connects with account/user/password over http and reports the session parameters clients read', async () => {
    const { rows } = await exec(db, `SHOW PARAMETERS LIKE '%OUTPUT_FORMAT' IN SESSION`);
    expect(rows.map((r) => r.key)).toContain('TIMESTAMP_NTZ_OUTPUT_FORMAT');
    const threshold = await exec(db, `SHOW PARAMETERS LIKE 'CLIENT_STAGE_ARRAY_BINDING_THRESHOLD'`);
    expect(threshold.rows[0]?.value).toBe('65280');
    // the driver formats a timestamp with TIMESTAMP_NTZ_OUTPUT_FORMAT from the answer's parameters
    const ts = `SELECT '2024-01-02 03:04:05.123456'::TIMESTAMP_NTZ AS ts`;
    expect((await exec(db, ts, [], { fetchAsString: ['Date'] })).rows[0]?.TS).toBe('2024-01-02 03:04:05.123');
    await exec(db, `ALTER SESSION SET TIMESTAMP_NTZ_OUTPUT_FORMAT = 'DD.MM.YYYY HH24:MI'`);
    expect((await exec(db, ts, [], { fetchAsString: ['Date'] })).rows[0]?.TS).toBe('02.01.2024 03:04');
    await exec(db, `ALTER SESSION UNSET TIMESTAMP_NTZ_OUTPUT_FORMAT`);
  });

  it('QUERY_TAG: set by the connection, then by ALTER SESSION SET / UNSET', async () => {
    const tag = async () => (await exec(db, `SHOW PARAMETERS LIKE 'QUERY_TAG' IN SESSION`)).rows[0]?.value;
    expect(await tag()).toBe(QUERY_TAG);
    await exec(db, `ALTER SESSION SET QUERY_TAG = 'refresh-42'`);
    expect(await tag()).toBe('refresh-42');
    await exec(db, `ALTER SESSION UNSET QUERY_TAG`);
    expect(await tag()).toBe('');
    await exec(db, `ALTER SESSION SET QUERY_TAG = '${QUERY_TAG}'`);
  });

  it('CREATE TABLE with VARIANT, TIMESTAMP_NTZ, BOOLEAN and NUMBER columns (a JSON answer the driver reads)', async () => {
    const { rows } = await exec(
      db,
      `CREATE OR REPLACE TABLE events (
         id VARCHAR PRIMARY KEY, v NUMBER NOT NULL, payload VARIANT, updated_at TIMESTAMP_NTZ, done BOOLEAN)`,
    );
    expect(rows).toEqual([{ status: 'Table EVENTS successfully created.' }]);
  });

  it('multi-row MERGE with binds through PARSE_JSON / TO_TIMESTAMP_NTZ: inserts, then updates only newer rows', async () => {
    const first: EventRow[] = [
      ['a', 1, '{"step":"created","n":[1,2]}', '2024-01-01 00:00:00.250', false],
      ['b', 5, '{"step":"created"}', '2024-01-01 00:00:01', false],
    ];
    const inserted = await exec(db, mergeSql(2), first.flat());
    expect(inserted.rows).toEqual([{ 'number of rows inserted': 2, 'number of rows updated': 0 }]);
    expect(inserted.updated).toBe(2);

    const second: EventRow[] = [
      ['a', 2, '{"step":"done"}', '2024-01-01 00:00:09', true], // newer: updated
      ['b', 4, '{"step":"stale"}', '2024-01-01 00:00:09', true], // older version: left alone
      ['c', 1, 'null', '2024-01-01 00:00:09', false], // new
    ];
    const merged = await exec(db, mergeSql(3), second.flat());
    expect(merged.rows).toEqual([{ 'number of rows inserted': 1, 'number of rows updated': 1 }]);
    expect(merged.updated).toBe(2);
    const { rows } = await exec(db, `SELECT id, v, done FROM events ORDER BY id`);
    expect(rows).toEqual([
      { ID: 'a', V: 2, DONE: true },
      { ID: 'b', V: 5, DONE: false },
      { ID: 'c', V: 1, DONE: false },
    ]);
  });

  it('SELECT gives VARIANT back (as a value and as JSON text) and TIMESTAMP_NTZ as UTC instants', async () => {
    await exec(db, mergeSql(1), ['n', 1, '{"k":"v","list":[1,2]}', '2024-02-29 23:59:58.125', false]);
    await exec(db, `INSERT INTO events (id, v) VALUES ('empty', 1)`);
    const { rows } = await exec(
      db,
      `SELECT payload, TO_JSON(payload) AS payload_json, updated_at FROM events WHERE id IN ('n', 'empty') ORDER BY id`,
    );
    expect(rows[0]).toEqual({ PAYLOAD: null, PAYLOAD_JSON: null, UPDATED_AT: null });
    expect(rows[1]?.PAYLOAD).toEqual({ k: 'v', list: [1, 2] });
    expect(JSON.parse(rows[1]?.PAYLOAD_JSON as string)).toEqual({ k: 'v', list: [1, 2] });
    expect((rows[1]?.UPDATED_AT as Date).toISOString()).toBe('2024-02-29T23:59:58.125Z');
  });

  it('a MERGE inside BEGIN ... COMMIT commits; inside BEGIN ... ROLLBACK it is undone', async () => {
    await exec(db, 'BEGIN');
    await exec(db, mergeSql(1), ['tx1', 1, '{}', '2024-01-01 00:00:00', false]);
    await exec(db, 'COMMIT');
    await exec(db, 'BEGIN');
    await exec(db, mergeSql(1), ['tx2', 1, '{}', '2024-01-01 00:00:00', false]);
    await exec(db, 'ROLLBACK');
    const { rows } = await exec(db, `SELECT id FROM events WHERE id LIKE 'tx%' ORDER BY id`);
    expect(rows).toEqual([{ ID: 'tx1' }]);
  });

  it('a MERGE whose source repeats a key fails as on Snowflake (100090, nothing written)', async () => {
    const dup: EventRow[] = [
      ['a', 10, '{}', '2024-01-01 00:00:00', true],
      ['a', 11, '{}', '2024-01-01 00:00:00', true],
    ];
    const { error } = await execError(db, mergeSql(2), dup.flat());
    expect(error.code).toBe('100090');
    expect(error.message).toContain('Duplicate row detected during DML action');
    expect((await exec(db, `SELECT v FROM events WHERE id = 'a'`)).rows).toEqual([{ V: 2 }]);
  });

  it('a cast on a bind placeholder (?::TYPE) parses; a string cast to VARIANT stays a string', async () => {
    const { rows } = await exec(db, `SELECT ?::TIMESTAMP_NTZ AS ts, ?::NUMBER AS n`, [
      '2024-05-06 07:08:09.5',
      42,
    ]);
    expect((rows[0]?.TS as Date).toISOString()).toBe('2024-05-06T07:08:09.500Z');
    expect(rows[0]?.N).toBe(42);
    const variant = await exec(db, `SELECT ?::VARIANT AS s, PARSE_JSON(?) AS o`, ['{"k":1}', '{"k":1}']);
    expect(variant.rows[0]).toEqual({ S: '{"k":1}', O: { k: 1 } });
  });

  it('PRIMARY KEY is not enforced (duplicates are kept), NOT NULL is', async () => {
    await exec(db, `INSERT INTO events (id, v) VALUES ('dup', 1)`);
    await exec(db, `INSERT INTO events (id, v) VALUES ('dup', 2)`);
    expect((await exec(db, `SELECT COUNT(*) AS n FROM events WHERE id = 'dup'`)).rows).toEqual([{ N: 2 }]);
    const { error } = await execError(db, `INSERT INTO events (id, v) VALUES ('no-v', NULL)`);
    expect(error.code).toBe('100072');
    expect((await execError(db, `INSERT INTO events (id, v) VALUES (NULL, 1)`)).error.code).toBe('100072');
  });

  it('array binds (executemany) run inline, no stage upload, without a client-side threshold', async () => {
    const { updated } = await exec(db, `INSERT INTO events (id, v) VALUES (?, ?)`, [
      ['arr1', 1],
      ['arr2', 2],
    ]);
    expect(updated).toBe(2);
  });

  it('bad SQL fails at once with a Snowflake code and message, including SQL the emulator cannot run', async () => {
    const syntax = await execError(db, 'SELEC 1');
    const unknown = await execError(db, 'SELECT * FROM no_such_table');
    const unsupported = await execError(db, 'SELECT [1, 2] AS a'); // an ARRAY constant: fakesnow answers HTTP 500
    for (const { error, ms } of [syntax, unknown, unsupported]) {
      expect(ms).toBeLessThan(3_000);
      expect(error.message.length).toBeGreaterThan(5);
    }
    expect(syntax.error.code).toBe('001003');
    expect(unknown.error.code).toBe('002003');
    expect(unsupported.error.code).toBe('000002');
    expect(unsupported.error.message).toContain('Unsupported feature in the Snowflake emulator');
    // the session is still usable
    expect((await exec(db, 'SELECT 1 AS one')).rows).toEqual([{ ONE: 1 }]);
  });

  it("a qualified temporary view lives as long as its session (dbt's __dbt_tmp relations)", async () => {
    const other = await connect({ ...emulator.connectionOptions, database: DATABASE, schema: SCHEMA });
    await exec(
      other,
      `CREATE OR REPLACE TEMPORARY VIEW ${DATABASE}.${SCHEMA}.events__tmp AS SELECT id FROM events`,
    );
    expect(
      (await exec(other, `SELECT COUNT(*) AS n FROM ${DATABASE}.${SCHEMA}.events__tmp`)).rows[0]?.N,
    ).toBe((await exec(db, `SELECT COUNT(*) AS n FROM events`)).rows[0]?.N);
    await disconnect(other);
    const gone = await execError(db, `SELECT * FROM ${DATABASE}.${SCHEMA}.events__tmp`);
    expect(gone.error.code).toBe('002003');
  });

  it('concurrent MERGEs on one table from four sessions: no write conflicts, no duplicate inserts', async () => {
    await exec(
      db,
      `CREATE OR REPLACE TABLE events (id VARCHAR, v NUMBER, payload VARIANT, updated_at TIMESTAMP_NTZ, done BOOLEAN)`,
    );
    const sessions = await Promise.all(
      [1, 2, 3, 4].map(() => connect({ ...emulator.connectionOptions, database: DATABASE, schema: SCHEMA })),
    );
    const rows = (v: number) =>
      Array.from({ length: 10 }, (_, i): EventRow => [`k${i}`, v, '{}', '2024-01-01 00:00:00', false]).flat();
    await Promise.all(
      sessions.map(async (session, w) => {
        for (let round = 0; round < 5; round++) await exec(session, mergeSql(10), rows(round * 4 + w + 1));
      }),
    );
    await Promise.all(sessions.map((session) => disconnect(session)));
    const { rows: result } = await exec(db, `SELECT COUNT(*) AS n, MIN(v) AS lo, MAX(v) AS hi FROM events`);
    expect(result).toEqual([{ N: 10, LO: 20, HI: 20 }]);
  });

  it('MERGE of 100 rows: latency', async () => {
    await exec(
      db,
      `CREATE OR REPLACE TABLE events (id VARCHAR, v NUMBER, payload VARIANT, updated_at TIMESTAMP_NTZ, done BOOLEAN)`,
    );
    const batch = (v: number) =>
      Array.from(
        { length: 100 },
        (_, i): EventRow => [`m${i}`, v, `{"i":${i}}`, '2024-01-01 00:00:00', v > 1],
      ).flat();
    const times: number[] = [];
    for (let v = 1; v <= 7; v++) {
      const { updated, ms } = await exec(db, mergeSql(100), batch(v));
      expect(updated).toBe(100);
      times.push(ms);
    }
    const sorted = [...times].sort((a, b) => a - b);
    console.log(
      `snowflake emulator: MERGE of 100 rows (500 binds): median ${sorted[3]} ms, min ${sorted[0]} ms, max ${sorted[6]} ms over 7 runs (first inserts, then updates)`,
    );
    expect(driverLog.filter((l) => l.startsWith('ERROR'))).toEqual([]);
  });
});

describe('snowflake emulator with dbt-snowflake', () => {
  const database = 'DBT_DB';
  const schema = 'MINI';
  let projectDir: string;
  let env: Record<string, string>;
  let raw: snowflake.Connection;
  const dbt = (args: string[], dir = projectDir, dbtEnv = env): Promise<DbtResult> =>
    runDbt(dir, args, dbtEnv, path.join(tmpDir, path.basename(dir)));
  const project = (args: string[]) =>
    dbt(
      [...args, '--target', 'snowflake'],
      path.join(REPO_ROOT, 'dbt'),
      snowflakeEnv(emulator.env, 'POLICY_DB', 'POLICY'),
    );
  const passed = (r: DbtResult) => {
    if (r.code !== 0) console.log(r.output);
    return r.code;
  };

  beforeAll(async () => {
    projectDir = path.join(tmpDir, 'mini');
    writeMiniProject(projectDir);
    env = snowflakeEnv(emulator.env, database, schema);
    raw = await connect({ ...emulator.connectionOptions, database, schema });
    await exec(
      raw,
      `CREATE TABLE raw_events (id NUMBER, v NUMBER, payload VARIANT, updated_at TIMESTAMP_NTZ)`,
    );
    await exec(
      raw,
      `INSERT INTO raw_events SELECT column1, column2, PARSE_JSON(column3), TO_TIMESTAMP_NTZ(column4)
       FROM VALUES (1, 1, '{"step":"created"}', '2024-01-01 00:00:00'), (2, 1, '{"step":"created"}', '2024-01-01 00:00:00')`,
    );
  });

  afterAll(async () => {
    await disconnect(raw);
  });

  it('dbt debug connects through host/port/protocol from the profile', async () => {
    const r = await dbt(['debug']);
    expect(passed(r)).toBe(0);
    expect(r.output).toContain('All checks passed!');
  });

  it('dbt run builds the table model and the first run of the incremental model', async () => {
    const r = await dbt(['run']);
    expect(passed(r)).toBe(0);
    expect(r.output).toMatch(/PASS=2 WARN=0 ERROR=0/);
    expect((await exec(raw, `SELECT COUNT(*) AS n FROM events_latest`)).rows).toEqual([{ N: 2 }]);
  });

  it('dbt build merges new and changed rows into the incremental model (BEGIN; MERGE; COMMIT) and runs the data tests', async () => {
    await exec(
      raw,
      `INSERT INTO raw_events SELECT column1, column2, PARSE_JSON(column3), TO_TIMESTAMP_NTZ(column4)
       FROM VALUES (1, 2, '{"step":"done"}', '2024-01-02 00:00:00'), (3, 1, '{"step":"created"}', '2024-01-02 00:00:00')`,
    );
    await exec(raw, `DELETE FROM raw_events WHERE id = 1 AND v = 1`);
    const r = await dbt(['build']);
    expect(passed(r)).toBe(0);
    expect(r.output).toMatch(/PASS=5 WARN=0 ERROR=0/);
    const log = fs.readFileSync(path.join(tmpDir, 'mini', 'logs', 'dbt.log'), 'utf8');
    expect(log).toMatch(/merge into DBT_DB\.MINI\.events_latest/);
    const { rows } = await exec(raw, `SELECT id, v, step FROM events_latest ORDER BY id`);
    expect(rows).toEqual([
      { ID: 1, V: 2, STEP: 'done' },
      { ID: 2, V: 1, STEP: 'created' },
      { ID: 3, V: 1, STEP: 'created' },
    ]);
  });

  it("the project's dbt build --target snowflake, with SNOWFLAKE_HOST/PORT/PROTOCOL", async () => {
    const r = await project(['build']);
    expect(passed(r)).toBe(0);
    expect(r.output).toMatch(/ERROR=0/);
  });

  it("the project's run_query prints a NULL TIMESTAMP_NTZ as NULL (Arrow answers to the Python connector)", async () => {
    const sql = `select null::timestamp_ntz as never, '2024-01-02 03:04:05'::timestamp_ntz as ts`;
    const r = await project(['run-operation', 'run_query', '--args', JSON.stringify({ sql })]);
    expect(passed(r)).toBe(0);
    expect(r.output).toMatch(/NULL\s+\|\s+2024-01-02 03:04:05/);
    expect(r.output).not.toContain('1970-01-01');
  });
});

// Last: expiring tokens expires every session open at the time (the dbt tests above have logged out).
describe("snowflake emulator's fault hook (the chaos suite's Snowflake lane)", () => {
  it('holds a statement, expires the session token (renewed with the master token), then both (refused)', async () => {
    const c = await connect({ ...emulator.connectionOptions, database: DATABASE, schema: SCHEMA });
    try {
      const held = await emulator.faults({ delay_ms: 1500, count: 1, match: 'SELECT 4242' });
      expect(held.pending_delays).toBe(1);
      expect((await exec(c, 'SELECT 4242 AS n')).ms).toBeGreaterThanOrEqual(1400);
      expect((await emulator.faults({})).delayed).toBe(1);

      expect((await emulator.faults({ expire: 'session' })).expired).toBeGreaterThan(0);
      // 390112 to the statement; the driver renews the token (/session/token-request) and runs it.
      expect((await exec(c, 'SELECT 1 AS n')).rows[0]?.N).toBe(1);
      expect((await emulator.faults({})).renewed).toBe(1);

      await emulator.faults({ expire: 'master' });
      // 390112, then 390114 to the renewal: the session is gone; a new login works.
      await execError(c, 'SELECT 1 AS n');
      const fresh = await connect({ ...emulator.connectionOptions, database: DATABASE, schema: SCHEMA });
      expect((await exec(fresh, 'SELECT 1 AS n')).rows[0]?.N).toBe(1);
      await disconnect(fresh);
    } finally {
      await disconnect(c);
    }
  });
});
