/**
 * The Snowflake adapter on the Snowflake emulator (one per file, keeping its databases in a temp dir
 * so that it can be restarted): the session (QUERY_TAG, UTC), the tables' Snowflake types and
 * defaults, one MERGE per batch (and its latency), what a permanent failure says, key-pair login, no
 * credential in any log or error, a lost network and an expired session. The settings, the error
 * classification and the MERGE's SQL: warehouse-snowflake-rules.test.ts; the `Warehouse` contract:
 * warehouse-contract.test.ts.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSnowflakeEmulator, type SnowflakeEmulator } from '../../devtools/snowflake-emulator/launch';
import { toApplicationFailure } from '../../src/activities';
import { initialState, type StateRow } from '../../src/policy/state';
import type { SnowflakeSettings } from '../../src/warehouse/snowflake/config';
import { SnowflakeSessions } from '../../src/warehouse/snowflake/session';
import { SnowflakeWarehouse } from '../../src/warehouse/snowflake/warehouse';
import { WarehouseConfigError, WarehouseUnavailableError } from '../../src/warehouse/types';
import { SNOWFLAKE_LIVE, snowflakeTestSettings } from '../helpers/warehouses';

const PASSWORD = 'pw-Sup3r-S3cret-4d9f';

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
