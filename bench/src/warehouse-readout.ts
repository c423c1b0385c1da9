/**
 * What the project's run left in the warehouse (read-only, after its worker stopped): completed rows
 * in the state table and in the model, and the model refresh log.
 */
import { withDuckDb } from '../../src/warehouse/duckdb/connection';
import type { RefreshLogRow, WarehouseReadout } from './analyse';

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
