/**
 * The dbt worker's activity (task queue `policy-execution-dbt`, one slot): one
 * `dbt run --select policy_execution_model` per batch of refresh asks. It holds the warehouse lease
 * while dbt runs, so the worker's own state writes wait for it instead of fighting dbt for the
 * DuckDB file, and records every attempt in policy_model_refresh_log.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { DbtExecutor } from '../dbt/daemon';
import type { Warehouse } from '../warehouse/types';
import { DBT_HEARTBEAT, type RefreshOutcome } from '../contracts';
import { whileBeating } from './beats';

export const MODEL_NAME = 'policy_execution_model';

export interface DbtActivityDeps {
  warehouse: Warehouse;
  /** Runs dbt commands (a warm dbt process, or the CLI). */
  dbt: DbtExecutor;
}

export function createDbtActivities(deps: DbtActivityDeps) {
  return {
    async runModelRefresh(input: {
      refreshId: string;
      requests: number;
      workflowId: string;
    }): Promise<RefreshOutcome> {
      const ctx = Context.current();
      const attemptId = `${input.refreshId}:a${ctx.info.attempt}`;
      let modelRows: number | null = null;
      const result = await whileBeating(
        ctx,
        DBT_HEARTBEAT.beatMs,
        async () => {
          // Start-up and parsing happen outside the lease: the worker's writes only wait for the run.
          await deps.dbt.prepare();
          const run = await deps.warehouse.withLease(() =>
            deps.dbt.run(['run', '--select', MODEL_NAME], ctx.cancellationSignal),
          );
          if (run.success) modelRows = await deps.warehouse.countRows(MODEL_NAME);
          return run;
        },
        { attemptId },
      );
      await deps.warehouse.recordRefresh({
        refresh_id: attemptId,
        started_at: result.startedAt,
        finished_at: result.finishedAt,
        success: result.success,
        duration_ms: result.durationMs,
        rows_affected: result.rowsAffected,
        model_rows: modelRows,
        requests: input.requests,
        error: result.error,
        workflow_id: input.workflowId,
      });
      if (!result.success) {
        ctx.log.warn('dbt run failed', { attemptId, error: result.error });
        throw ApplicationFailure.retryable(result.error ?? 'dbt run failed', 'DbtRunFailed');
      }
      ctx.log.info('policy_execution_model refreshed', {
        attemptId,
        durationMs: result.durationMs,
        requests: input.requests,
        modelRows,
      });
      return {
        refreshId: attemptId,
        success: true,
        startedAt: result.startedAt,
        finishedAt: result.finishedAt,
        durationMs: result.durationMs,
        requests: input.requests,
        modelRows,
        error: null,
      };
    },
  };
}

export type DbtActivities = ReturnType<typeof createDbtActivities>;
