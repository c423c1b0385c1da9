/**
 * The Snowflake adapter's rules, without a warehouse: the SNOWFLAKE_* settings (and how the worker's
 * dbt runs follow them), how driver failures are classified and what they become for Temporal, and
 * the MERGE's SQL. On the emulator: warehouse-snowflake.test.ts; the contract: warehouse-contract.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { toApplicationFailure } from '../../src/activities';
import { loadWarehouseConfig, loadWorkerConfig } from '../../src/config';
import { dbtEnv } from '../../src/dbt/runner';
import { dbtTargetOf } from '../../src/warehouse/factory';
import { mergeSql } from '../../src/warehouse/snowflake/codec';
import {
  connectionOptions,
  missingSnowflakeSettings,
  snowflakeSettingsFromEnv,
  type SnowflakeSettings,
} from '../../src/warehouse/snowflake/config';
import { classify, SnowflakeTimeoutError, toWarehouseError } from '../../src/warehouse/snowflake/errors';
import { WarehouseConfigError, WarehouseUnavailableError } from '../../src/warehouse/types';

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
        '002003',
        "SQL compilation error:\nObject 'POLICY_DB.POLICY.POLICY_EXECUTION_STATE' does not exist or not authorized.",
      ),
      'permanent',
      password,
      /a table is missing or not granted: .*; check SNOWFLAKE_DATABASE and SNOWFLAKE_SCHEMA, or the grants of SNOWFLAKE_ROLE$/,
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
