/**
 * BENCH_WAREHOUSE=snowflake: the project's worker writes a Snowflake warehouse, the Snowflake emulator
 * (devtools/snowflake-emulator) the bench starts on a free 127.0.0.1 port. The emulator is fakesnow on an in-process DuckDB: its
 * figures say how the project's Snowflake path behaves (rows per MERGE, how writes coalesce), not how
 * fast Snowflake is (no network, no warehouse, statements one at a time). The readout of what the
 * run left there is in warehouse-readout.ts.
 */
import {
  EMULATOR_ACCOUNT_ENV,
  startSnowflakeEmulator,
  type SnowflakeEmulator,
} from '../../devtools/snowflake-emulator/launch';

export interface BenchSnowflake {
  /** WAREHOUSE=snowflake and the SNOWFLAKE_* settings, for the worker. */
  env: Record<string, string>;
  label: string;
  emulator: SnowflakeEmulator;
}

export async function startBenchSnowflake(repoRoot: string): Promise<BenchSnowflake> {
  const emulator = await startSnowflakeEmulator({ repoRoot });
  return {
    env: {
      WAREHOUSE: 'snowflake',
      ...emulator.env,
      ...EMULATOR_ACCOUNT_ENV,
    },
    label: `snowflake (the Snowflake emulator on 127.0.0.1:${emulator.port}, fakesnow on DuckDB)`,
    emulator,
  };
}
