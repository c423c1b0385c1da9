/**
 * A scenario's Snowflake warehouse (scenarios with `warehouse: 'snowflake'`): its own Snowflake
 * emulator (devtools/snowflake-emulator) on a free 127.0.0.1 port, keeping its data in the scenario
 * directory so that it can be killed and started again on the same port with the same data (the
 * endpoint down, then back); the SNOWFLAKE_* settings its workers get; its faults (statements held
 * past the adapter's timeout, expired tokens); and the rows read back through the real adapter.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { StateRow } from '../../src/policy';
import { snowflakeSettingsFromEnv } from '../../src/warehouse/snowflake/config';
import { SnowflakeWarehouse } from '../../src/warehouse/snowflake/warehouse';
import {
  startSnowflakeEmulator,
  type FaultRequest,
  type FaultState,
  type SnowflakeEmulator,
  EMULATOR_ACCOUNT_ENV,
} from '../../devtools/snowflake-emulator/launch';
import { headOf, type RowHead, type RowSource } from './row-source';

/** How long the suite's own reads wait (short: a sample while the endpoint is down is skipped). */
const READ_TIMEOUT_MS = 5000;

export class ChaosSnowflake implements RowSource {
  /** Times the endpoint was killed and started again. */
  restarts = 0;
  private reader: SnowflakeWarehouse | null = null;

  private constructor(
    private emulator: SnowflakeEmulator | null,
    readonly port: number,
    private readonly dataDir: string,
  ) {}

  /** Starts the scenario's emulator, its data in `<dir>/snowflake-data`. */
  static async start(dir: string): Promise<ChaosSnowflake> {
    const dataDir = path.join(dir, 'snowflake-data');
    fs.mkdirSync(dataDir, { recursive: true });
    const emulator = await startSnowflakeEmulator({ dataDir });
    return new ChaosSnowflake(emulator, emulator.port, dataDir);
  }

  /** WAREHOUSE=snowflake and the SNOWFLAKE_* settings of this endpoint, for a worker. */
  workerEnv(): Record<string, string> {
    return {
      WAREHOUSE: 'snowflake',
      ...EMULATOR_ACCOUNT_ENV,
      SNOWFLAKE_HOST: '127.0.0.1',
      SNOWFLAKE_PORT: String(this.port),
      SNOWFLAKE_PROTOCOL: 'http',
    };
  }

  get up(): boolean {
    return this.emulator !== null;
  }

  /** Kills the endpoint (SIGKILL: a crash, nothing flushed but what DuckDB made durable). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const emulator = this.emulator;
    this.emulator = null;
    await emulator?.kill(signal);
  }

  /** Starts the endpoint again on the same port with the same data (every session is gone). */
  async restart(): Promise<number> {
    if (this.emulator) throw new Error('the Snowflake emulator is running');
    this.emulator = await startSnowflakeEmulator({ port: this.port, dataDir: this.dataDir });
    this.restarts += 1;
    return this.emulator.startupMs;
  }

  faults(request: FaultRequest): Promise<FaultState> {
    if (!this.emulator) throw new Error('the Snowflake emulator is down');
    return this.emulator.faults(request);
  }

  async readHeads(): Promise<RowHead[] | null> {
    if (!this.emulator) throw new Error('the Snowflake emulator is down');
    return (await this.readAllRows()).map(headOf);
  }

  readAllRows(): Promise<StateRow[]> {
    this.reader ??= new SnowflakeWarehouse({
      settings: snowflakeSettingsFromEnv({
        ...this.workerEnv(),
        SNOWFLAKE_USER: 'chaos_reader',
        SNOWFLAKE_QUERY_TIMEOUT_MS: String(READ_TIMEOUT_MS),
        SNOWFLAKE_POOL_SIZE: '1',
      }),
      component: 'chaos-reader',
    });
    return this.reader.listStates({ limit: 1_000_000 });
  }

  async close(): Promise<void> {
    const reader = this.reader;
    this.reader = null;
    await reader?.close().catch(() => undefined);
    await this.emulator?.stop();
    this.emulator = null;
  }
}
