/**
 * What the project's run left in the warehouse (read-only, after its worker stopped): completed rows
 * in the state table and in the model, and the model refresh log; from the DuckDB file, or from the
 * Snowflake emulator (BENCH_WAREHOUSE=snowflake) through the adapter's sessions.
 */
import { withDuckDb } from '../../src/warehouse/duckdb/connection';
import { qualifiedName, snowflakeSettingsFromEnv } from '../../src/warehouse/snowflake/config';
import { SnowflakeSessions } from '../../src/warehouse/snowflake/session';
import { REFRESH_LOG_TABLE, STATE_TABLE } from '../../src/warehouse/tables';
import type { RefreshLogRow, WarehouseReadout } from './analyse';

const MODEL = 'policy_execution_model';

export async function readWarehouse(warehousePath: string, prefix: string): Promise<WarehouseReadout> {
  return withDuckDb(
    warehousePath,
    async (c) => {
      const hasModel = await c.runAndReadAll(
        `SELECT count(*) FROM information_schema.tables WHERE table_name = 'policy_execution_model'`,
      );
      const model =
        Number(hasModel.getRows()[0]?.[0] ?? 0) === 0
          ? null
          : await c.runAndReadAll(
              `SELECT count(*) FROM policy_execution_model WHERE execution_id LIKE ?::VARCHAR AND status = 'completed'`,
              [`${prefix}%`],
            );
      const state = await c.runAndReadAll(
        `SELECT count(*) FROM policy_execution_state WHERE execution_id LIKE ?::VARCHAR AND status = 'completed'`,
        [`${prefix}%`],
      );
      const refresh = await c.runAndReadAll(
        `SELECT refresh_id, epoch_ms(started_at), epoch_ms(finished_at), success, duration_ms, requests, model_rows
           FROM policy_model_refresh_log ORDER BY started_at`,
      );
      return {
        modelCompleted: Number(model?.getRows()[0]?.[0] ?? 0),
        stateCompleted: Number(state.getRows()[0]?.[0] ?? 0),
        refreshLog: refresh.getRows().map(
          (r): RefreshLogRow => ({
            refreshId: String(r[0]),
            startedMs: Number(r[1]),
            finishedMs: Number(r[2]),
            success: r[3] === true,
            durationMs: Number(r[4]),
            requests: Number(r[5]),
            modelRows: r[6] === null ? null : Number(r[6]),
          }),
        ),
      };
    },
    { readOnly: true, transaction: false },
  );
}

const ms = (v: unknown) => (v instanceof Date ? v.getTime() : Date.parse(String(v)));

/** The same readout as readWarehouse, from the emulator. */
export async function readSnowflake(env: Record<string, string>, prefix: string): Promise<WarehouseReadout> {
  const settings = snowflakeSettingsFromEnv(env);
  const sessions = new SnowflakeSessions(settings, 'bench-readout');
  const rel = (t: string) => qualifiedName(settings, t);
  try {
    return await sessions.run('bench readout', async (c) => {
      const completed = `execution_id LIKE ? AND status = 'completed'`;
      const hasModel = await sessions.query(
        c,
        `SELECT count(*) FROM ${settings.database}.information_schema.tables
          WHERE table_schema = UPPER(?) AND table_name = UPPER(?)`,
        [settings.schema, MODEL],
      );
      const model =
        Number(hasModel[0]?.[0] ?? 0) === 0
          ? null
          : await sessions.query(c, `SELECT count(*) FROM ${rel(MODEL)} WHERE ${completed}`, [`${prefix}%`]);
      const state = await sessions.query(c, `SELECT count(*) FROM ${rel(STATE_TABLE)} WHERE ${completed}`, [
        `${prefix}%`,
      ]);
      const refresh = await sessions.query(
        c,
        `SELECT refresh_id, started_at, finished_at, success, duration_ms, requests, model_rows
           FROM ${rel(REFRESH_LOG_TABLE)} ORDER BY started_at`,
      );
      return {
        modelCompleted: Number(model?.[0]?.[0] ?? 0),
        stateCompleted: Number(state[0]?.[0] ?? 0),
        refreshLog: refresh.map(
          (r): RefreshLogRow => ({
            refreshId: String(r[0]),
            startedMs: ms(r[1]),
            finishedMs: ms(r[2]),
            success: r[3] === true,
            durationMs: Number(r[4]),
            requests: Number(r[5]),
            modelRows: r[6] === null ? null : Number(r[6]),
          }),
        ),
      };
    });
  } finally {
    await sessions.close();
  }
}
