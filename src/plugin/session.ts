/**
 * What the plugin runs for one worker, from its creation to its end: the resources its activities
 * use (the policy API client, the warehouse, the warm dbt process) and, while the worker runs, the
 * worker-process parts: the dbt worker, the request dispatcher and the endings reconciler. Everything
 * it opened is closed when the worker stops (or when the worker is never run: `close()`).
 */
import type { Client } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities, type PolicyActivities } from '../activities';
import { sendRefreshAsk, type RefreshTarget } from '../activities/refresh-asks';
import type { DbtExecutor } from '../dbt/daemon';
import { RequestDispatcher } from '../dispatcher';
import { createPolicyApiClient } from '../policy-api/client';
import type { PolicyApi } from '../policy-api/types';
import { EndingsReconciler } from '../reconciler';
import { createWarehouse, describeWarehouse } from '../warehouse/factory';
import { observability } from '../observability/setup';
import type { Warehouse } from '../warehouse/types';
import { createDbtWorker, dbtExecutor, lazyRefreshTarget, moveRefresher, refreshTarget } from './dbt-worker';
import type { PluginLogger, ResolvedOptions } from './options';
import { missingSearchAttributes, searchAttributeCommands } from './search-attributes';

export interface SessionContext {
  namespace: string;
  logger: PluginLogger;
  /** The client given in the options; otherwise the worker's own, bound when it runs. */
  client: Client | undefined;
  onReady: (summary: string) => void;
}

export class WorkerSession {
  readonly activities: PolicyActivities;
  private client: Client | undefined;
  private running = false;
  private closed = false;
  private dispatcher: RequestDispatcher | null = null;
  private reconciler: EndingsReconciler | null = null;

  private constructor(
    readonly settings: ResolvedOptions,
    private readonly ctx: SessionContext,
    readonly warehouse: Warehouse,
    private readonly api: PolicyApi,
    private readonly dbt: DbtExecutor | null,
  ) {
    this.client = ctx.client;
    // The worker's client exists once the worker does: asks are sent only while it runs.
    const refresh = settings.refresh && lazyRefreshTarget(() => this.boundClient(), settings.refresh);
    this.activities = createActivities({
      api,
      warehouse,
      breaker: settings.breaker,
      refresh: refresh || undefined,
      onBreaker: (b) => observability().observeBreaker(b),
    });
  }

  /** Open what the activities need: the warehouse (tables created or migrated) and the API client. */
  static async open(settings: ResolvedOptions, ctx: SessionContext): Promise<WorkerSession> {
    const warehouse = await createWarehouse(settings.warehouse, {
      component: 'worker',
      // Snowflake: the driver's warnings and failed batches (scrubbed of credentials). The DuckDB
      // adapter reports through its errors only.
      logger:
        settings.warehouse.kind === 'snowflake'
          ? {
              debug: () => undefined,
              warn: (m, meta) => ctx.logger.warn(meta ? `${m} ${JSON.stringify(meta)}` : m),
            }
          : undefined,
      onBatch: observability().onBatch,
    });
    try {
      await warehouse.init();
    } catch (err) {
      await warehouse.close();
      throw err;
    }
    const obs = observability();
    const api = createPolicyApiClient({
      ...settings.api,
      requestHeaders: obs.tracing.headers,
      onCall: obs.onApiCall,
    });
    const dbt = settings.dbtWorker ? dbtExecutor(settings.dbtWorker, settings.warehouse) : null;
    return new WorkerSession(settings, ctx, warehouse, api, dbt);
  }

  get isRunning(): boolean {
    return this.running;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private boundClient(): Client {
    if (!this.client) throw new Error('policy-execution plugin: the worker is not running yet');
    return this.client;
  }

  /** Run the worker (`next`) with the dbt worker and the loops beside it; close everything after. */
  async run(worker: Worker, next: () => Promise<void>): Promise<void> {
    if (this.closed) throw new Error('policy-execution plugin: this worker session is closed');
    this.running = true;
    const { settings, ctx } = this;
    const connection = worker.connection;
    this.client ??= worker.client;
    let dbtWorker: Worker | null = null;
    try {
      const client = this.boundClient();
      if (connection) void this.checkSearchAttributes(connection);
      const refresh = settings.refresh ? refreshTarget(client, settings.refresh) : null;
      if (refresh) void this.moveRefresher(refresh);
      if (refresh && this.dbt && connection) {
        dbtWorker = await createDbtWorker({
          connection,
          namespace: ctx.namespace,
          taskQueue: refresh.input.dbtTaskQueue,
          deps: { warehouse: this.warehouse, dbt: this.dbt },
        });
        // Warm dbt up now, so the first refresh does not pay for Python start-up and parsing.
        void this.dbt.prepare();
      }
      const logger = { info: (m: string) => ctx.logger.info(m), warn: (m: string) => ctx.logger.warn(m) };
      const metrics = observability().metrics();
      if (settings.dispatchIntervalMs > 0) {
        this.dispatcher = new RequestDispatcher({
          client,
          warehouse: this.warehouse,
          taskQueue: settings.taskQueue,
          intervalMs: settings.dispatchIntervalMs,
          concurrency: settings.dispatchConcurrency,
          logger,
          warehouseLabel: describeWarehouse(settings.warehouse),
          // Eager start needs the worker's own connection (docs/design.md, decision 7).
          eagerStart: connection !== undefined && client.connection === connection,
          onPass: (pass) => metrics.dispatcherPass(pass),
        });
        this.dispatcher.startPolling();
      }
      if (settings.reconcile) {
        this.reconciler = new EndingsReconciler({
          client,
          warehouse: this.warehouse,
          intervalMs: settings.reconcile.intervalMs,
          lookbackMs: settings.reconcile.lookbackMs,
          onFixed: async (rows) => {
            metrics.reconcilerFixed(rows.length);
            if (refresh) await sendRefreshAsk(refresh, rows.length);
          },
          logger,
        });
        this.reconciler.startPolling();
      }
      ctx.onReady(this.summary(dbtWorker !== null));
      await runBoth(worker, next, dbtWorker);
    } finally {
      this.running = false;
      await this.close();
    }
  }

  /** One line: where executions go and what runs beside the worker. */
  private summary(dbtWorker: boolean): string {
    const s = this.settings;
    const refresh = s.refresh
      ? `${s.refresh.workflowId} (dbt queue ${s.refresh.taskQueue}${dbtWorker ? '' : ', dbt worker elsewhere'})`
      : 'off';
    return (
      `namespace=${this.ctx.namespace} task-queue=${s.taskQueue} ` +
      `policy-api=${s.api.baseUrl} (${s.api.profile}) warehouse=${describeWarehouse(s.warehouse)} ` +
      `model-refresh=${refresh} ` +
      `dispatcher=${s.dispatchIntervalMs > 0 ? `every ${s.dispatchIntervalMs} ms, ${s.dispatchConcurrency} at a time` : 'off'} ` +
      `reconciler=${s.reconcile ? `every ${s.reconcile.intervalMs} ms` : 'off'}` +
      (s.maxApiRequestsPerSecond === undefined ? '' : ` max-rps=${s.maxApiRequestsPerSecond}`)
    );
  }

  /** A refresher an earlier version left on the dbt task queue is moved to this worker's (decision 11). */
  private async moveRefresher(target: RefreshTarget): Promise<void> {
    try {
      const from = await moveRefresher(target);
      if (from)
        this.ctx.logger.warn(
          `policy-execution: moved the refresher ${target.workflowId} from task queue ${from} to ${target.taskQueue}`,
        );
    } catch (err) {
      this.ctx.logger.warn(
        `policy-execution: could not check where the refresher ${target.workflowId} runs: ${
          err instanceof Error ? err.message : String(err)
        }`,
      );
    }
  }

  private async checkSearchAttributes(connection: NativeConnection): Promise<void> {
    const missing = await missingSearchAttributes(connection, this.ctx.namespace);
    if (missing && missing.length > 0) {
      this.ctx.logger.warn(
        `policy-execution: namespace '${this.ctx.namespace}' lacks the search attribute(s) ${missing.join(', ')}: ` +
          `every policyExecution workflow task will fail until they exist. Register them with:\n  ` +
          searchAttributeCommands(this.ctx.namespace, missing).join('\n  '),
      );
    }
  }

  /** Stop the loops and close what this session opened. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed || this.running) return;
    this.closed = true;
    await this.dispatcher?.stop();
    await this.reconciler?.stop();
    await this.dbt?.close();
    await this.api.close();
    await this.warehouse.close();
  }
}

/**
 * Run the worker and the dbt worker together. When either stops (a shutdown signal stops both; a
 * `shutdown()` or a fatal error stops one), the other is shut down too; the first error is thrown
 * once both have stopped.
 */
async function runBoth(worker: Worker, next: () => Promise<void>, dbtWorker: Worker | null): Promise<void> {
  if (!dbtWorker) return next();
  const stop = (w: Worker) => {
    if (w.getState() === 'RUNNING') w.shutdown();
  };
  const results = await Promise.allSettled([
    next().finally(() => stop(dbtWorker)),
    dbtWorker.run().finally(() => stop(worker)),
  ]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
