/**
 * The request dispatcher (docs/design.md, decision 7): dbt users queue executions by inserting rows into
 * policy_execution_requests (`dbt run-operation run_policy_workflow`, `policy_execution(...)`). The
 * worker process polls that table and starts one `policyExecution` workflow per request, with the
 * request id as the workflow id, then marks the row `dispatched`.
 *
 * Exactly once comes from Temporal, not from a lock: the workflow id is the request id and the
 * reuse policy rejects duplicates, so a request seen twice (two workers, a crash between starting
 * the workflow and marking the row, a retried pass) still starts one workflow; the second start
 * fails with WorkflowExecutionAlreadyStartedError, which counts as dispatched.
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { START_SEARCH_ATTRIBUTES, TRIGGER_MEMO_KEY, WORKFLOW_TYPE } from './contracts';
import { createLimit, type Limit } from './client/limit';
import { startMetadata } from './policy/details';
import { PassLoop } from './pass-loop';
import type { ExecutionRequest, RequestOutcome, Warehouse } from './warehouse/types';

export interface DispatcherOptions {
  client: Client;
  warehouse: Warehouse;
  taskQueue: string;
  /** Pause between passes over the request table. Default 1000. */
  intervalMs?: number;
  /** Most requests per pass. Default DEFAULT_DISPATCH_BATCH_SIZE. */
  batchSize?: number;
  /**
   * Most starts in flight at once within a pass. Default DEFAULT_DISPATCH_CONCURRENCY. Each start
   * waits a round trip to the Temporal server, so one at a time caps a dispatcher at one start per
   * round trip.
   */
  concurrency?: number;
  logger?: {
    info(msg: string, fields?: Record<string, unknown>): void;
    warn(msg: string, fields?: Record<string, unknown>): void;
  };
  /** Where the warehouse is (no credential), for the executions' details in the Web UI. */
  warehouseLabel?: string;
  /**
   * Ask Temporal for eager workflow start: the start's answer carries the execution's first
   * workflow task to a worker of `taskQueue` in this process, which runs it at once instead of
   * polling for it (the server falls back to the task queue when no slot is free). Only when
   * `client` is on the worker's own `NativeConnection` (the plugin decides). Default false.
   */
  eagerStart?: boolean;
  /** Called after every pass (metrics: the backlog seen, starts and failures). */
  onPass?: (pass: DispatchPass) => void;
}

export interface DispatchPass {
  seen: number;
  started: number;
  alreadyStarted: number;
  failed: number;
}

/** Requests read per pass (the backlog metric's ceiling; docs/prometheus alerts at it). */
export const DEFAULT_DISPATCH_BATCH_SIZE = 100;

/** Starts in flight at once (decision 7: measured in performance-log.md, change 27). */
export const DEFAULT_DISPATCH_CONCURRENCY = 2;

export class RequestDispatcher {
  private readonly batchSize: number;
  /** At most `concurrency` starts in flight at once. */
  private readonly limit: Limit;
  private readonly loop: PassLoop;
  readonly totals: DispatchPass = { seen: 0, started: 0, alreadyStarted: 0, failed: 0 };

  constructor(private readonly opts: DispatcherOptions) {
    this.batchSize = opts.batchSize ?? DEFAULT_DISPATCH_BATCH_SIZE;
    this.limit = createLimit(Math.max(1, Math.floor(opts.concurrency ?? DEFAULT_DISPATCH_CONCURRENCY)));
    this.loop = new PassLoop(
      () => this.dispatchOnce(),
      opts.intervalMs ?? 1_000,
      (err) =>
        this.opts.logger?.warn(
          `dispatcher: pass failed (will retry): ${err instanceof Error ? err.message : String(err)}`,
        ),
    );
  }

  /**
   * One pass: start a workflow for every pending request, oldest first, at most `concurrency` at a
   * time, then record the outcomes (in the requests' order).
   */
  async dispatchOnce(): Promise<DispatchPass> {
    const requests = await this.opts.warehouse.pendingRequests(this.batchSize);
    const pass: DispatchPass = { seen: requests.length, started: 0, alreadyStarted: 0, failed: 0 };
    // startWorkflow never rejects: a failed start is an outcome to retry.
    const results = await Promise.all(requests.map((r) => this.limit(() => this.startWorkflow(r))));
    const outcomes: RequestOutcome[] = [];
    for (const { outcome, already } of results) {
      if (outcome.status === 'retry') pass.failed += 1;
      else if (already) pass.alreadyStarted += 1;
      else pass.started += 1;
      outcomes.push(outcome);
    }
    await this.opts.warehouse.markRequests(outcomes);
    for (const k of Object.keys(pass) as (keyof DispatchPass)[]) this.totals[k] += pass[k];
    this.opts.onPass?.(pass);
    return pass;
  }

  private async startWorkflow(
    request: ExecutionRequest,
  ): Promise<{ outcome: RequestOutcome; already: boolean }> {
    const workflowId = request.request_id;
    const args = request.options === null ? [request.policy] : [request.policy, request.options];
    try {
      await this.opts.client.workflow.start(WORKFLOW_TYPE, {
        taskQueue: this.opts.taskQueue,
        workflowId,
        args,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        requestEagerStart: this.opts.eagerStart === true,
        typedSearchAttributes: START_SEARCH_ATTRIBUTES,
        memo: {
          requestedBy: request.requested_by ?? 'dbt',
          requestedAt: request.requested_at,
          [TRIGGER_MEMO_KEY]: 'dispatcher',
        },
        ...startMetadata({
          policy: request.policy,
          options: request.options ?? undefined,
          executionId: workflowId,
          trigger: 'dispatcher',
          warehouse: this.opts.warehouseLabel,
        }),
      });
      this.opts.logger?.info(`dispatcher: started workflow ${workflowId} for request ${request.request_id}`, {
        executionId: workflowId,
        requestId: request.request_id,
      });
      return { outcome: { requestId: request.request_id, status: 'dispatched', workflowId }, already: false };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        return {
          outcome: { requestId: request.request_id, status: 'dispatched', workflowId },
          already: true,
        };
      }
      const error = err instanceof Error ? err.message : String(err);
      this.opts.logger?.warn(`dispatcher: could not start ${workflowId} (will retry): ${error}`, {
        executionId: workflowId,
        requestId: request.request_id,
      });
      return { outcome: { requestId: request.request_id, status: 'retry', error }, already: false };
    }
  }

  /** Poll until stop(). Errors of a pass (e.g. the warehouse busy for long) are logged and retried. */
  startPolling(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }
}
