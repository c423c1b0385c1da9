/**
 * The Temporal worker plugin: add it to your own `Worker.create({ plugins: [...] })` and that worker
 * runs policy executions next to your workflows and activities (docs/temporal-plugin.md).
 *
 *   const plugin = new PolicyExecutionPlugin({ policyApi: { url }, warehouse: { kind: 'duckdb', path } });
 *   const worker = await Worker.create({ connection, taskQueue, workflowsPath, activities, plugins: [plugin] });
 *   await worker.run();
 *
 * It contributes the `policyExecution` and `dbtRefresh` workflows (combined with the worker's own,
 * see ./workflows.ts), their activities built from the options, and, while the worker runs, the dbt
 * worker, the request dispatcher and the endings reconciler (./session.ts). The option merging is
 * @temporalio/plugin's SimplePlugin (activities appended, workflow code replaced by the combined one);
 * this class adds what SimplePlugin cannot: resources opened per worker and closed when it stops.
 * One plugin instance serves one worker at a time.
 */
import { SimplePlugin } from '@temporalio/plugin';
import type {
  BundleOptions,
  BundlerPlugin,
  ReplayWorkerOptions,
  Worker,
  WorkerOptions,
  WorkerPlugin,
} from '@temporalio/worker';
import type { Warehouse } from '../warehouse/types';
import { internalWorkerOptions } from './dbt-worker';
import { resolveOptions, type PluginLogger, type PolicyExecutionPluginOptions } from './options';
import { WorkerSession } from './session';
import { combinedWorkflowsPath, WORKFLOWS_PATH, withPreloadModules, workflowOptionsFor } from './workflows';
import { WORKFLOW_INTERCEPTORS_MODULE } from '../observability/bundle';
import { observability } from '../observability/setup';

export const PLUGIN_NAME = 'policy-execution';

const consoleLogger: PluginLogger = { info: (m) => console.log(m), warn: (m) => console.warn(m) };

export class PolicyExecutionPlugin implements WorkerPlugin, BundlerPlugin {
  readonly name = PLUGIN_NAME;
  private session: WorkerSession | null = null;

  constructor(private readonly options: PolicyExecutionPluginOptions) {
    // Check the options now (a mistake shows where the plugin is made); the worker's queue comes later.
    resolveOptions(options, 'policy-execution');
  }

  /** The warehouse adapter of the worker this plugin serves or served last (e.g. for its write counters). */
  get warehouse(): Warehouse | undefined {
    return this.session?.warehouse;
  }

  async configureWorker(options: WorkerOptions): Promise<WorkerOptions> {
    if (internalWorkerOptions.has(options)) return options;
    if (this.session && !this.session.isClosed)
      throw new Error(
        `${PLUGIN_NAME}: this plugin already serves a worker; create one plugin per worker ` +
          '(after a failed Worker.create, call plugin.close() before trying again)',
      );
    const settings = resolveOptions(this.options, options.taskQueue);
    const logger = this.options.logger ?? consoleLogger;
    const session = await WorkerSession.open(settings, {
      namespace: options.namespace ?? 'default',
      logger,
      client: this.options.client,
      onReady: this.options.onReady ?? ((summary) => logger.info(`${PLUGIN_NAME} ready: ${summary}`)),
    });
    this.session = session;
    try {
      const clash = Object.keys(session.activities).filter((name) => name in (options.activities ?? {}));
      if (clash.length > 0)
        throw new Error(`${PLUGIN_NAME}: the worker already has activities named ${clash.join(', ')}`);
      const workflows = await workflowOptionsFor(options, this.options.workflowsEntryDir);
      const merged = new SimplePlugin({
        name: PLUGIN_NAME,
        activities: session.activities,
        ...(workflows.workflowsPath ? { workflowsPath: workflows.workflowsPath } : {}),
        ...(workflows.workflowBundle ? { workflowBundle: workflows.workflowBundle } : {}),
      }).configureWorker(options);
      // Logs, metrics and tracing (docs/operations.md): activity interceptors and sinks beside the
      // worker's own; the workflow interceptors go into the bundle when the worker bundles.
      const obs = observability().workerOptions();
      const interceptors = {
        ...merged.interceptors,
        activity: [...(merged.interceptors?.activity ?? []), ...(obs.interceptors?.activity ?? [])],
        ...(workflows.workflowsPath
          ? {
              workflowModules: [
                ...new Set([...(merged.interceptors?.workflowModules ?? []), WORKFLOW_INTERCEPTORS_MODULE]),
              ],
            }
          : {}),
      };
      return {
        ...merged,
        interceptors,
        sinks: { ...obs.sinks, ...merged.sinks },
        ...(workflows.bundlerOptions ? { bundlerOptions: workflows.bundlerOptions } : {}),
        ...(settings.maxApiRequestsPerSecond === undefined ||
        options.maxTaskQueueActivitiesPerSecond !== undefined
          ? {}
          : { maxTaskQueueActivitiesPerSecond: settings.maxApiRequestsPerSecond }),
      };
    } catch (err) {
      await session.close();
      throw err;
    }
  }

  /** Runs the worker with the dbt worker, the dispatcher and the reconciler; closes them after. */
  runWorker(worker: Worker, next: (w: Worker) => Promise<void>): Promise<void> {
    const session = this.session;
    // Already running: this is the dbt worker it started (the plugin sits on the connection too).
    if (!session || session.isRunning) return next(worker);
    return session.run(worker, () => next(worker));
  }

  /** Replaying histories: the same workflow code as the worker's. */
  async configureReplayWorker(options: ReplayWorkerOptions): Promise<ReplayWorkerOptions> {
    const workflows = await workflowOptionsFor(options, this.options.workflowsEntryDir);
    return { ...options, ...workflows };
  }

  /** `bundleWorkflowCode({ workflowsPath, plugins: [plugin] })`: a bundle with your workflows and ours. */
  configureBundler(options: BundleOptions): BundleOptions {
    return {
      ...options,
      workflowsPath: options.workflowsPath
        ? combinedWorkflowsPath(options.workflowsPath, this.options.workflowsEntryDir)
        : WORKFLOWS_PATH,
      preloadModules: withPreloadModules(options.preloadModules),
      workflowInterceptorModules: [
        ...new Set([...(options.workflowInterceptorModules ?? []), WORKFLOW_INTERCEPTORS_MODULE]),
      ],
    };
  }

  /** Close what the plugin opened for a worker that was configured but will not run. Safe to call twice. */
  async close(): Promise<void> {
    await this.session?.close();
  }
}
