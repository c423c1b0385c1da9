/**
 * One chaos scenario: what a scenario is (its fault plan, what each execution must end as) and the
 * context its plan runs in: its own policy API simulator, task queue, warehouse (a DuckDB file, or
 * a Snowflake emulator) and worker processes, the executions it started and what happened when. run-scenario.ts runs a scenario;
 * invariants.ts checks what it left behind.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Client, WorkflowHandle, WorkflowStartOptions } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { WORKFLOW_TYPE } from '../../src/contracts';
import type { ExecutionOptionsInput, StateRow } from '../../src/policy';
import type { DownMode, RequestLogEntry, Simulator } from '../../devtools/simulator/server';
import { duckDbRows, type RowSource } from './row-source';
import type { RunInfo } from './runs';
import type { ChaosSnowflake } from './snowflake';
import type { Outcome } from './temporal';
import { WorkerPool } from './workers';

export type Size = 'full' | 'quick';

export interface Expect {
  status: 'completed' | 'error' | 'either';
  /** An `error` row's error_message must match. */
  error?: RegExp;
  /** A rejected input: InvalidPolicyInput, non-retryable, naming this field (prefix); no API call. */
  rejectedField?: string;
  /** An accepted input: policy_data (and the body sent to the API) must be exactly this. */
  verbatim?: unknown;
  /** The row's policy_id must be exactly this (hostile ids). */
  policyId?: string;
  /** The execution id (options.executionId) when it is not the workflow id. */
  executionId?: string;
  /** The httpbin profile echoes: nothing is committed, so creates / breakers are not counted. */
  profile?: 'policy' | 'httpbin';
  /**
   * Ended or run again from outside (terminate, timeout, reset, a re-run of the id): the row is
   * checked against every run of the workflow id (endings.ts), not against one run's result.
   */
  endings?: boolean;
}

export interface Execution {
  workflowId: string;
  label: string;
  expect: Expect;
  taskQueue: string;
  startedAt: number;
  handle: WorkflowHandle;
  /** The first run's id: the run chain its idempotency keys name (`<execution id>:<run>:create`). */
  firstRunId: string;
  /** Every start of this workflow id (the first, then re-runs), by first run id; resets add none. */
  chains: string[];
  outcome?: Outcome;
  /** Every run of the workflow id, collected after the scenario (executions with `expect.endings`). */
  runs?: RunInfo[];
}

export interface ScenarioEnv {
  client: Client;
  temporalAddress: string;
  /** This scenario's directory (logs, warehouse file). */
  dir: string;
  size: Size;
  token: string;
  /** The worker entry point (a snapshot of dist/worker.js, see snapshotDist). */
  workerJs: string;
  /** Only for scenarios with `dedicatedTemporal`. */
  restartTemporal?: (signal: NodeJS.Signals, downMs: number) => Promise<void>;
}

export interface Scenario {
  name: string;
  /** What the scenario proves, one line. */
  title: string;
  /**
   * The warehouse its workers write: its DuckDB file (the default) or its own Snowflake emulator
   * (`ctx.snowflake`; the workers run with WAREHOUSE=snowflake).
   */
  warehouse?: 'duckdb' | 'snowflake';
  /** Needs its own Temporal dev server (it restarts it). */
  dedicatedTemporal?: boolean;
  /**
   * Process faults (worker kills, server restarts) may cut a status poll between the API's answer and
   * its recording; the poll is then made again. Such surplus answers are allowed when they came at
   * most 5 s before a kill, or before / during a restart (see `disrupted`).
   */
  processFaults?: boolean;
  /** How long executions may take to close after `run` returns. Default 180 s. */
  settleMs?: number;
  /** Dead-API request bound per minute, when the scenario takes the API down. */
  deadApiBoundPerMinute?: (ctx: ScenarioContext) => number;
  run(ctx: ScenarioContext): Promise<void>;
  /** Extra checks after everything closed (workers stopped); returns violations. */
  after?(ctx: ScenarioContext, data: CollectedData): Promise<string[]> | string[];
}

export interface CollectedData {
  rows: StateRow[];
  requests: RequestLogEntry[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Fast retries, the production shape (designed for faults that clear in seconds). */
export const CHAOS_RETRY = { maximumAttempts: 10, initialIntervalMs: 200, maximumIntervalMs: 2000 };

export class ScenarioContext {
  readonly taskQueue: string;
  readonly warehousePath: string;
  /** Where the sampler and the invariants read the rows: the DuckDB file or the emulator. */
  readonly rows: RowSource;
  readonly executions: Execution[] = [];
  readonly events: { at: number; what: string }[] = [];
  readonly metrics: Record<string, number | string | boolean | null> = {};
  readonly downWindows: { from: number; to: number | null }[] = [];
  /** Process faults: worker kills (from = to) and server restarts (stopped .. back). */
  readonly disruptions: { from: number; to: number }[] = [];
  readonly pools: WorkerPool[] = [];
  /** Extra texts to scan for the token (CLI output, dbt output), by where they came from. */
  readonly scanTexts: { where: string; text: string }[] = [];
  readonly violations: string[] = [];
  readonly startedAt = Date.now();
  /** Default per-execution options; scenarios override per execution. */
  defaults: ExecutionOptionsInput = {
    pollIntervalMs: 200,
    maxPolls: 3,
    refreshModel: false,
    retry: CHAOS_RETRY,
  };
  private readonly requestHooks: ((e: Readonly<RequestLogEntry>) => void)[] = [];
  private serial = 0;

  constructor(
    readonly scenario: Scenario,
    readonly env: ScenarioEnv,
    readonly sim: Simulator,
    /** The scenario's Snowflake emulator (scenarios with `warehouse: 'snowflake'`), else null. */
    readonly snowflake: ChaosSnowflake | null = null,
  ) {
    const tag = randomBytes(3).toString('hex');
    this.taskQueue = `chaos-${scenario.name}-${tag}`;
    this.warehousePath = path.join(env.dir, 'warehouse.duckdb');
    this.rows = snowflake ?? duckDbRows(this.warehousePath);
  }

  get size(): Size {
    return this.env.size;
  }

  /** `full` or `quick` count. */
  n(full: number, quick: number): number {
    return this.env.size === 'full' ? full : quick;
  }

  note(what: string): void {
    this.events.push({ at: Date.now() - this.startedAt, what });
  }

  uid(prefix = 'p'): string {
    this.serial += 1;
    return `${prefix}-${this.scenario.name}-${this.serial}-${randomBytes(3).toString('hex')}`;
  }

  /** The worker's environment: the production variables, pointed at this scenario's parts. */
  workerEnv(overrides: Record<string, string> = {}): Record<string, string> {
    return {
      TEMPORAL_ADDRESS: this.env.temporalAddress,
      TEMPORAL_NAMESPACE: 'default',
      POLICY_TASK_QUEUE: this.taskQueue,
      POLICY_API_URL: this.sim.url,
      POLICY_API_TOKEN: this.env.token,
      POLICY_API_TIMEOUT_MS: '3000',
      WAREHOUSE_PATH: this.warehousePath,
      // Model refresh and the dbt request dispatcher are not what this suite exercises.
      DBT_REFRESH: 'off',
      DISPATCH_INTERVAL_MS: '0',
      DBT_WORK_DIR: path.join(this.env.dir, 'dbt-worker'),
      ...this.snowflake?.workerEnv(),
      ...overrides,
    };
  }

  async startWorkers(
    count: number,
    overrides: Record<string, string> = {},
    logPrefix = 'worker',
  ): Promise<WorkerPool> {
    const spec = {
      workerJs: this.env.workerJs,
      env: this.workerEnv(overrides),
      logPrefix,
      dir: this.env.dir,
    };
    const pool = new WorkerPool(spec, (e) => this.note(e.what));
    this.pools.push(pool);
    await pool.start(count);
    return pool;
  }

  onRequest(hook: (e: Readonly<RequestLogEntry>) => void): void {
    this.requestHooks.push(hook);
  }

  dispatchRequest(e: Readonly<RequestLogEntry>): void {
    for (const h of this.requestHooks) h(e);
  }

  setDown(down: boolean, mode: DownMode = 'reset'): void {
    this.sim.setDown(down, mode);
    const now = Date.now();
    if (down) this.downWindows.push({ from: now, to: null });
    else {
      const open = this.downWindows.find((w) => w.to === null);
      if (open) open.to = now;
    }
    this.note(down ? `policy API down (${mode})` : 'policy API back');
  }

  /** Starts one execution (retrying the start itself through server restarts). */
  async start(args: {
    policy: unknown;
    options?: unknown;
    expect: Expect;
    label: string;
    taskQueue?: string;
    /** Raw options (not merged with the defaults). */
    rawOptions?: boolean;
    /** Temporal start options (e.g. workflowExecutionTimeout). */
    startOptions?: Pick<WorkflowStartOptions, 'workflowExecutionTimeout'>;
  }): Promise<Execution> {
    const workflowId = this.uid('exec');
    const taskQueue = args.taskQueue ?? this.taskQueue;
    const options =
      args.rawOptions ||
      (args.options !== undefined && (typeof args.options !== 'object' || Array.isArray(args.options)))
        ? args.options
        : { ...this.defaults, ...(args.options as object | undefined) };
    let handle: WorkflowHandle | undefined;
    let firstRunId: string | undefined;
    for (let attempt = 0; firstRunId === undefined; attempt++) {
      try {
        if (handle === undefined) {
          const started = await this.env.client.workflow.start(WORKFLOW_TYPE, {
            taskQueue,
            workflowId,
            args: [args.policy, options],
            ...args.startOptions,
          });
          handle = started;
          firstRunId = started.firstExecutionRunId;
        } else {
          // An earlier attempt started it (its answer was lost in a server restart): the only run.
          firstRunId = (await handle.describe()).runId;
        }
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) {
          handle = this.env.client.workflow.getHandle(workflowId);
        } else if (attempt < 60) await sleep(1000);
        else throw err;
      }
    }
    const e: Execution = {
      workflowId,
      label: args.label,
      expect: args.expect,
      taskQueue,
      startedAt: Date.now(),
      handle: handle as WorkflowHandle,
      firstRunId,
      chains: [firstRunId],
    };
    this.executions.push(e);
    return e;
  }

  /** Runs a process fault (e.g. a server restart) and records its window. */
  async disrupted(what: string, fault: () => Promise<void>): Promise<void> {
    const from = Date.now();
    this.note(`${what}: begins`);
    try {
      await fault();
    } finally {
      this.disruptions.push({ from, to: Date.now() });
      this.note(`${what}: over`);
    }
  }

  /** Waits until `check` returns true (polling), or `timeoutMs`. */
  async waitFor(
    what: string,
    check: () => boolean | Promise<boolean>,
    timeoutMs = 120_000,
  ): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await check()) return true;
      await sleep(100);
    }
    this.note(`gave up waiting for ${what}`);
    return false;
  }

  sleep(ms: number): Promise<void> {
    return sleep(ms);
  }
}
