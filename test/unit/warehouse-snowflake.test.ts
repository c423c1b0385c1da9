/**
 * What is Snowflake's own in the Snowflake warehouse (the `Warehouse` contract itself is
 * warehouse-contract.test.ts): the SNOWFLAKE_* settings, how driver failures are classified, the
 * MERGE's SQL, and, on the Snowflake emulator (one per file, keeping its databases in a temp dir so
 * that it can be restarted): the session (QUERY_TAG, UTC), the tables' Snowflake types and defaults,
 * one MERGE per batch (and its latency), key-pair login, no credential in any log or error, a lost
 * network and an expired session.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSnowflakeEmulator, type SnowflakeEmulator } from '../../devtools/snowflake-emulator/launch';
import { toApplicationFailure } from '../../src/activities';
import { loadWarehouseConfig, loadWorkerConfig } from '../../src/config';
import { dbtEnv } from '../../src/dbt/runner';
import { initialState, type StateRow } from '../../src/policy/state';
import { dbtTargetOf } from '../../src/warehouse/factory';
import { mergeSql } from '../../src/warehouse/snowflake/codec';
import {
  connectionOptions,
  missingSnowflakeSettings,
  snowflakeSettingsFromEnv,
  type SnowflakeSettings,
} from '../../src/warehouse/snowflake/config';
import { classify, SnowflakeTimeoutError, toWarehouseError } from '../../src/warehouse/snowflake/errors';
import { SnowflakeSessions } from '../../src/warehouse/snowflake/session';
import { SnowflakeWarehouse } from '../../src/warehouse/snowflake/warehouse';
import { WarehouseConfigError, WarehouseUnavailableError } from '../../src/warehouse/types';
import { SNOWFLAKE_LIVE, snowflakeTestSettings } from '../helpers/warehouses';

const PASSWORD = 'pw-Sup3r-S3cret-4d9f';
const COMPLETE: NodeJS.ProcessEnv = {
  SNOWFLAKE_ACCOUNT: 'acme-prod',
  SNOWFLAKE_USER: 'policy_worker',
  SNOWFLAKE_PASSWORD: PASSWORD,
  SNOWFLAKE_ROLE: 'POLICY_EXECUTION',
  SNOWFLAKE_WAREHOUSE: 'POLICY_WH',
  SNOWFLAKE_DATABASE: 'POLICY_DB',
  SNOWFLAKE_SCHEMA: 'POLICY',
};

function baseRow(id: string, overrides: Partial<StateRow> = {}): StateRow {
  return {
    ...initialState({
      executionId: id,
      workflowId: `wf-${id}`,
      policy: { name: id },
      at: '2026-11-28T18:44:08.123Z',
    }),
    ...overrides,
  };
}

describe('Snowflake settings', () => {
  it('WAREHOUSE selects the adapter: duckdb by default, snowflake on request, anything else is an error', () => {
    expect(loadWarehouseConfig({})).toEqual({ kind: 'duckdb', path: '.local/warehouse.duckdb' });
    expect(loadWarehouseConfig({ WAREHOUSE: 'snowflake', ...COMPLETE }).kind).toBe('snowflake');
    expect(() => loadWarehouseConfig({ WAREHOUSE: 'oracle' })).toThrow(
      /WAREHOUSE must be 'duckdb' or 'snowflake'/,
    );
  });

  it('fails at start naming every missing setting, the credentials as one', () => {
    expect(() => loadWorkerConfig({ WAREHOUSE: 'snowflake' })).toThrow(
      'WAREHOUSE=snowflake needs SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER, SNOWFLAKE_PASSWORD or SNOWFLAKE_PRIVATE_KEY_PATH, ' +
        'SNOWFLAKE_ROLE, SNOWFLAKE_WAREHOUSE, SNOWFLAKE_DATABASE, SNOWFLAKE_SCHEMA',
    );
    expect(missingSnowflakeSettings({ ...COMPLETE, SNOWFLAKE_PASSWORD: '', SNOWFLAKE_SCHEMA: ' ' })).toEqual([
      'SNOWFLAKE_PASSWORD or SNOWFLAKE_PRIVATE_KEY_PATH',
      'SNOWFLAKE_SCHEMA',
    ]);
    expect(missingSnowflakeSettings(COMPLETE)).toEqual([]);
  });

  it('rejects what would fail later: both credentials, an unreadable key, a quoted name, a bad endpoint', () => {
    expect(() => snowflakeSettingsFromEnv({ ...COMPLETE, SNOWFLAKE_PRIVATE_KEY_PATH: '/k.p8' })).toThrow(
      /not both/,
    );
    expect(() =>
      snowflakeSettingsFromEnv({
        ...COMPLETE,
        SNOWFLAKE_PASSWORD: '',
        SNOWFLAKE_PRIVATE_KEY_PATH: '/nonexistent/k.p8',
      }),
    ).toThrow(/SNOWFLAKE_PRIVATE_KEY_PATH: cannot read/);
    expect(() => snowflakeSettingsFromEnv({ ...COMPLETE, SNOWFLAKE_SCHEMA: 'my-schema' })).toThrow(
      /SNOWFLAKE_SCHEMA must be an unquoted identifier/,
    );
    expect(() => snowflakeSettingsFromEnv({ ...COMPLETE, SNOWFLAKE_PROTOCOL: 'ftp' })).toThrow(
      /SNOWFLAKE_PROTOCOL/,
    );
    expect(() => snowflakeSettingsFromEnv({ ...COMPLETE, SNOWFLAKE_PORT: '0' })).toThrow(/SNOWFLAKE_PORT/);
    expect(() => snowflakeSettingsFromEnv({ ...COMPLETE, SNOWFLAKE_LOG_LEVEL: 'LOUD' })).toThrow(
      /SNOWFLAKE_LOG_LEVEL/,
    );
    expect(
      snowflakeSettingsFromEnv({ ...COMPLETE, SNOWFLAKE_PORT: '8790', SNOWFLAKE_PROTOCOL: 'HTTP' }),
    ).toMatchObject({
      port: 8790,
      protocol: 'http',
      queryTimeoutMs: 30_000,
      poolSize: 4,
      logLevel: 'WARN',
    });
  });

  it("the worker's dbt runs follow the warehouse (target and SNOWFLAKE_*) unless DBT_TARGET says otherwise", () => {
    const config = loadWorkerConfig({ WAREHOUSE: 'snowflake', ...COMPLETE });
    expect(config.dbt?.target).toBe('snowflake');
    expect(loadWorkerConfig({ WAREHOUSE: 'snowflake', ...COMPLETE, DBT_TARGET: 'other' }).dbt?.target).toBe(
      'other',
    );
    expect(loadWorkerConfig({}).dbt?.target).toBe('duckdb');
    const target = dbtTargetOf(config.warehouse);
    const env = dbtEnv(
      {
        dbtBin: 'dbt',
        projectDir: '/p',
        warehousePath: target.warehousePath,
        warehouseEnv: target.env,
        target: config.dbt?.target,
        targetPath: '/t',
        logPath: '/l',
        timeoutMs: 1,
      },
      { PATH: '/bin', POLICY_API_TOKEN: 'secret' },
    );
    expect(env).toMatchObject({ ...COMPLETE, DBT_TARGET: 'snowflake' });
    expect(env.WAREHOUSE_PATH).toBeUndefined();
    expect(env.POLICY_API_TOKEN).toBeUndefined();
  });

  it('connection options: password or key-pair (SNOWFLAKE_JWT), the query tag, the endpoint overrides', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-key-'));
    const key = path.join(dir, 'k.p8');
    fs.writeFileSync(key, 'not read here');
    try {
      const keyPair = snowflakeSettingsFromEnv({
        ...COMPLETE,
        SNOWFLAKE_PASSWORD: '',
        SNOWFLAKE_PRIVATE_KEY_PATH: key,
        SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: 'phrase',
        SNOWFLAKE_HOST: '127.0.0.1',
        SNOWFLAKE_PORT: '8790',
        SNOWFLAKE_PROTOCOL: 'http',
      });
      expect(connectionOptions(keyPair, 'worker')).toMatchObject({
        account: 'acme-prod',
        username: 'policy_worker',
        authenticator: 'SNOWFLAKE_JWT',
        privateKeyPath: key,
        privateKeyPass: 'phrase',
        queryTag: 'policy-execution:worker',
        host: '127.0.0.1',
        port: 8790,
        protocol: 'http',
      });
      expect(connectionOptions(keyPair, 'worker')).not.toHaveProperty('password');
      expect(connectionOptions(snowflakeSettingsFromEnv(COMPLETE), 'cli')).toMatchObject({
        password: PASSWORD,
        queryTag: 'policy-execution:cli',
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Snowflake failures are classified once', () => {
  const password = snowflakeSettingsFromEnv(COMPLETE);
  const keyPair = {
    ...password,
    auth: { kind: 'key-pair', privateKeyPath: '/k.p8', passphrase: undefined },
  } as const;
  const err = (code: string | number | undefined, message: string) =>
    Object.assign(new Error(message), { code });
  it.each([
    [
      err('390100', 'Incorrect username or password was specified.'),
      'permanent',
      password,
      /SNOWFLAKE_USER and SNOWFLAKE_PASSWORD/,
    ],
    // The driver's pool hands a failed login to the caller as a bare Error: the message still tells.
    [new Error('Incorrect username or password was specified.'), 'permanent', password, /SNOWFLAKE_PASSWORD/],
    [err('390144', 'JWT token is invalid.'), 'permanent', keyPair, /SNOWFLAKE_PRIVATE_KEY_PATH/],
    [
      err('390189', "Role 'X' specified in the connect string is not granted to this user."),
      'permanent',
      password,
      /SNOWFLAKE_ROLE/,
    ],
    [
      err('000606', 'No active warehouse selected in the current session.'),
      'permanent',
      password,
      /SNOWFLAKE_WAREHOUSE/,
    ],
    [
      err('002003', "SQL compilation error:\nDatabase 'NOPE' does not exist or not authorized."),
      'permanent',
      password,
      /SNOWFLAKE_DATABASE/,
    ],
    [
      err('002003', "SQL compilation error:\nSchema 'POLICY_DB.NOPE' does not exist or not authorized."),
      'permanent',
      password,
      /SNOWFLAKE_SCHEMA/,
    ],
    [
      err(
        '003001',
        "SQL access control error:\nInsufficient privileges to operate on table 'POLICY_EXECUTION_STATE'",
      ),
      'permanent',
      password,
      /SNOWFLAKE_ROLE \(its grants/,
    ],
    [
      new Error('getaddrinfo ENOTFOUND acme-prod.snowflakecomputing.com'),
      'permanent',
      password,
      /SNOWFLAKE_ACCOUNT/,
    ],
    [
      err('001003', "SQL compilation error:\nsyntax error line 1 at position 0 unexpected 'SELEC'."),
      'permanent',
      password,
      /^((?!check).)*$/s,
    ],
    [
      err('390112', 'Your session has expired. Please login again.'),
      'session',
      password,
      /failed \(retryable\)/,
    ],
    [err(401004, 'Request to Snowflake failed. Invalid token'), 'session', password, /session lost/],
    [
      err(401001, 'Network error. Could not reach Snowflake.'),
      'unavailable',
      password,
      /failed \(retryable\)/,
    ],
    [new Error('connect ECONNREFUSED 127.0.0.1:443'), 'unavailable', password, /ECONNREFUSED/],
    [err(401002, 'Request to Snowflake failed. 429 Too Many Requests'), 'unavailable', password, /429/],
    [
      err('000630', 'Statement reached its statement or warehouse timeout of 30 second(s) and was canceled.'),
      'unavailable',
      password,
      /000630/,
    ],
    [new SnowflakeTimeoutError('a statement', 30_000), 'unavailable', password, /SNOWFLAKE_QUERY_TIMEOUT_MS/],
  ] as const)('%s -> %s', (error, kind, settings, message) => {
    const c = classify(error, settings as SnowflakeSettings);
    expect(c.kind).toBe(kind);
    const out = toWarehouseError('upsert of state rows', c);
    expect(out).toBeInstanceOf(kind === 'permanent' ? WarehouseConfigError : WarehouseUnavailableError);
    expect(out.message).toMatch(message);
  });

  it('never lets a configured secret through, and becomes the right Temporal failure', () => {
    const c = classify(new Error(`login failed for ${PASSWORD}: authentication failed`), password, [
      PASSWORD,
    ]);
    expect(c.detail).not.toContain(PASSWORD);
    const permanent = toApplicationFailure(toWarehouseError('init', c), 1000) as ApplicationFailure;
    expect(permanent).toBeInstanceOf(ApplicationFailure);
    expect(permanent.nonRetryable).toBe(true);
    expect(permanent.type).toBe('WarehouseConfigError');
    const transient = toApplicationFailure(
      toWarehouseError('init', classify(new Error('socket hang up'), password)),
      1000,
    ) as ApplicationFailure;
    expect(transient.nonRetryable).toBe(false);
    expect(transient.type).toBe('WarehouseUnavailable');
  });
});

describe('the MERGE', () => {
  it('one MERGE for many rows: a source of bound VALUES cast to the columns, guarded updates, inserts', () => {
    const sql = mergeSql(3, 'POLICY_DB.POLICY.policy_execution_state');
    expect(sql.match(/\(\?(, \?){19}\)/g)).toHaveLength(3);
    expect(sql).toMatch(
      /^MERGE INTO POLICY_DB\.POLICY\.policy_execution_state t USING \(SELECT column1::VARCHAR AS execution_id, /,
    );
    expect(sql).toContain('TO_TIMESTAMP_NTZ(column5) AS start_time');
    expect(sql).toContain('PARSE_JSON(column13) AS api_response');
    expect(sql).toContain(
      ' WHEN MATCHED AND (((s.run_id IS NULL OR t.run_id IS NULL OR s.run_id = t.run_id) AND s.state_version > t.state_version)' +
        ' OR (s.run_id <> t.run_id AND s.updated_at > t.updated_at)) THEN UPDATE SET policy_id = s.policy_id,',
    );
    expect(sql).not.toContain('execution_id = s.execution_id,');
    expect(sql).toMatch(/ WHEN NOT MATCHED THEN INSERT \(execution_id, .*\) VALUES \(s\.execution_id, .*\)$/);
  });
});

describe.skipIf(SNOWFLAKE_LIVE)('on the Snowflake emulator', () => {
  let emulator: SnowflakeEmulator;
  let dataDir: string;
  let schemaCounter = 0;
  const open: { close(): Promise<void> }[] = [];
  const logs: string[] = [];
  const logger = {
    debug: (m: string) => logs.push(`DEBUG ${m}`),
    warn: (m: string) => logs.push(`WARN ${m}`),
  };

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-emulator-data-'));
    emulator = await startSnowflakeEmulator({ dataDir });
  });
  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((o) => o.close()));
  });
  afterAll(async () => {
    await emulator?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  function settings(extra: Record<string, string> = {}): SnowflakeSettings {
    return snowflakeTestSettings(emulator, `S${++schemaCounter}`, { SNOWFLAKE_PASSWORD: PASSWORD, ...extra });
  }
  function warehouse(s: SnowflakeSettings, maxBatchRows?: number): SnowflakeWarehouse {
    const wh = new SnowflakeWarehouse({ settings: s, component: 'test', logger, maxBatchRows });
    open.push(wh);
    return wh;
  }
  function sessions(s: SnowflakeSettings): SnowflakeSessions {
    const ss = new SnowflakeSessions(s, 'probe', logger);
    open.push(ss);
    return ss;
  }
  const query = (ss: SnowflakeSessions, sql: string) => ss.run('probe', (c) => ss.query(c, sql));

  it('every session is tagged policy-execution:<component> and runs in UTC', async () => {
    const ss = sessions(settings());
    expect(await query(ss, `SHOW PARAMETERS LIKE 'QUERY_TAG' IN SESSION`)).toEqual([
      [
        expect.any(String) as string,
        'policy-execution:probe',
        '',
        'SESSION',
        expect.any(String) as string,
        'STRING',
      ],
    ]);
    expect((await query(ss, `SHOW PARAMETERS LIKE 'TIMEZONE' IN SESSION`))[0]?.[1]).toBe('UTC');
  });

  it("init creates the tables with the guide's Snowflake types, NOT NULL keys and its defaults", async () => {
    const s = settings();
    const wh = warehouse(s);
    await wh.init();
    const ss = sessions(s);
    const columns = await query(
      ss,
      `SELECT LOWER(column_name), data_type, is_nullable FROM ${s.database}.information_schema.columns
        WHERE table_schema = '${s.schema}' AND table_name = 'POLICY_EXECUTION_STATE' ORDER BY ordinal_position`,
    );
    const types = Object.fromEntries(columns.map(([c, t]) => [String(c), String(t)]));
    expect(types).toMatchObject({
      execution_id: 'TEXT',
      poll_count: 'NUMBER',
      start_time: 'TIMESTAMP_NTZ',
      completed: 'BOOLEAN',
      api_response: 'VARIANT',
      state_version: 'NUMBER',
      run_id: 'TEXT',
    });
    expect(columns.filter(([, , nullable]) => nullable === 'NO').map(([c]) => c)).toEqual([
      'execution_id',
      'state_version',
    ]);
    // A row inserted the way the guide's SQL would (only the key) gets the guide's values, now in UTC.
    await query(
      ss,
      `INSERT INTO ${wh.relation('policy_execution_state')} (execution_id, state_version) VALUES ('d1', 1)`,
    );
    const row = await wh.getState('d1');
    expect(row).toMatchObject({
      poll_count: 0,
      status: 'pending',
      completed: false,
      circuit_breaker_completed: false,
    });
    expect(Math.abs(Date.parse(row?.start_time ?? '') - Date.now())).toBeLessThan(60_000);
  });

  it('one MERGE per batch of coalesced upserts (latency printed)', async () => {
    const wh = warehouse(settings());
    await wh.init();
    const figures: string[] = [];
    for (const n of [1, 50, 200]) {
      const before = wh.stats();
      const started = Date.now();
      await Promise.all(Array.from({ length: n }, (_, i) => wh.upsertStates([baseRow(`m${n}-${i}`)])));
      const after = wh.stats();
      figures.push(
        `${(after.rowsWritten - before.rowsWritten) / (after.statements - before.statements)} rows/MERGE: ` +
          `${after.mergeMs - before.mergeMs} ms in ${after.statements - before.statements} MERGE(s), ${Date.now() - started} ms end to end`,
      );
      expect(after.statements - before.statements).toBeLessThanOrEqual(2);
    }
    console.log(`snowflake emulator, concurrent upserts of 1, 50 and 200 rows: ${figures.join('; ')}`);
  });

  it('a permanent failure names what to fix and keeps the session; nothing is retried', async () => {
    const ss = sessions(settings());
    await query(ss, 'SELECT 1');
    const missing = await query(ss, 'SELECT 1 FROM POLICY_TEST.NO_SUCH_SCHEMA.T').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(WarehouseConfigError);
    expect((missing as WarehouseConfigError).setting).toBe('SNOWFLAKE_SCHEMA');
    expect((missing as Error).message).toMatch(
      /^snowflake probe failed: the schema is missing or not granted: 002003 .*; check SNOWFLAKE_SCHEMA$/,
    );
    const syntax = await query(ss, 'SELEC 1').catch((e: unknown) => e);
    expect((syntax as Error).message).toMatch(/^snowflake probe failed: 001003 /);
    expect(ss.stats()).toEqual({ sessions: 1, evicted: 0, sessionRetries: 0 });
  });

  it('key-pair login (an encrypted PKCS#8 key), and neither the key nor its passphrase in any log', async () => {
    const passphrase = 'key-Phrase-0f-Te5t';
    const { privateKey } = crypto.generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase },
    });
    const keyFile = path.join(dataDir, 'rsa_key.p8');
    fs.writeFileSync(keyFile, privateKey, { mode: 0o600 });
    const s = settings({
      SNOWFLAKE_PASSWORD: '',
      SNOWFLAKE_PRIVATE_KEY_PATH: keyFile,
      SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: passphrase,
      SNOWFLAKE_LOG_LEVEL: 'TRACE',
    });
    expect(s.auth.kind).toBe('key-pair');
    logs.length = 0;
    const wh = warehouse(s);
    await wh.upsertStates([baseRow('kp')]);
    expect((await wh.getState('kp'))?.execution_id).toBe('kp');
    expect(logs.some((l) => /SNOWFLAKE_JWT/.test(l))).toBe(true);
    const keyBody = privateKey.split('\n')[3] ?? '';
    for (const secret of [passphrase, keyBody]) expect(logs.filter((l) => l.includes(secret))).toEqual([]);
  });

  it('no credential in what the driver logged (TRACE) or any error, and no snowflake.log in the working directory', async () => {
    const cwdLog = path.join(process.cwd(), 'snowflake.log');
    const before = fs.existsSync(cwdLog) ? fs.statSync(cwdLog).size : null;
    logs.length = 0;
    const s = settings({ SNOWFLAKE_LOG_LEVEL: 'TRACE', SNOWFLAKE_QUERY_TIMEOUT_MS: '1500' });
    const wh = warehouse(s);
    await wh.upsertStates([baseRow('c1', { policy_data: { note: 'no secret here' } })]);
    await wh.getState('c1');
    const errors: unknown[] = [];
    const ss = sessions(s);
    errors.push(await query(ss, 'SELEC 1').catch((e: unknown) => e));
    // Nothing listens there: the login fails on the network.
    const unreachable = warehouse({ ...s, port: 1 });
    errors.push(await unreachable.init().catch((e: unknown) => e));
    expect(errors.every((e) => e instanceof Error)).toBe(true);
    expect(logs.length).toBeGreaterThan(20);
    const everything = [
      ...logs,
      ...errors.map((e) => `${String(e)} ${(e as Error).stack} ${JSON.stringify(e)}`),
    ].join('\n');
    expect(everything).not.toContain(PASSWORD);
    expect(fs.existsSync(cwdLog) ? fs.statSync(cwdLog).size : null).toBe(before);
  });

  it('a lost network: the statement gives up within SNOWFLAKE_QUERY_TIMEOUT_MS as retryable, drops the session, and the next call recovers', async () => {
    const wh = warehouse(settings({ SNOWFLAKE_QUERY_TIMEOUT_MS: '2000' }));
    await wh.upsertStates([baseRow('n1')]);
    await emulator.stop();
    try {
      const started = Date.now();
      const err = await wh.upsertStates([baseRow('n1', { state_version: 2 })]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WarehouseUnavailableError);
      expect((err as Error).message).toMatch(/^snowflake upsert of state rows failed \(retryable\): /);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(wh.stats().evicted).toBe(1);
      expect((toApplicationFailure(err, 1000) as ApplicationFailure).nonRetryable).toBe(false);
    } finally {
      emulator = await startSnowflakeEmulator({ dataDir, port: emulator.port });
    }
    await wh.upsertStates([baseRow('n1', { state_version: 3 })]);
    expect((await wh.getState('n1'))?.state_version).toBe(3);
  });

  it('an expired session (the server forgot it) is dropped and the statement retried once at once on a new one', async () => {
    const wh = warehouse(settings());
    await wh.upsertStates([baseRow('x1')]);
    const before = wh.stats();
    await emulator.stop();
    emulator = await startSnowflakeEmulator({ dataDir, port: emulator.port });
    expect((await wh.getState('x1'))?.execution_id).toBe('x1');
    const after = wh.stats();
    expect(after.sessionRetries - before.sessionRetries).toBe(1);
    expect(after.evicted - before.evicted).toBe(1);
    expect(after.sessions - before.sessions).toBe(1);
  });
});
