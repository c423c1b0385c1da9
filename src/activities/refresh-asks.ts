/**
 * Model refresh asks: where a terminal execution's ask goes (the dbtRefresh workflow, by
 * signal-with-start) and how one worker coalesces its asks into few signals.
 */
import type { Client } from '@temporalio/client';
import {
  DBT_REFRESH_WORKFLOW_TYPE,
  REFRESH_PRIORITY_KEY,
  REFRESH_WORKFLOW_TASK_TIMEOUT_MS,
  refreshRequestedSignal,
  type DbtRefreshInput,
  type RefreshAsk,
} from '../contracts';

/** Where terminal executions ask for a refresh of policy_execution_model (the dbtRefresh workflow). */
export interface RefreshTarget {
  client: Client;
  /** The singleton refresher's workflow id (one per warehouse). */
  workflowId: string;
  /** Task queue the refresher runs on (the worker's own; its dbt runs go to `input.dbtTaskQueue`). */
  taskQueue: string;
  input: DbtRefreshInput;
  /** At most one refresh signal per this many ms from this worker (asks coalesced). Default REFRESH_DEFAULTS.askIntervalMs. */
  askIntervalMs?: number;
}

/**
 * One refresh signal carrying `count` asks (signal-with-start: starts the refresher if it is not
 * running, at the refresher's priority); `pacedMs` > 0: the sender held it back to keep to its ask
 * interval; `askedAt`: when the earliest of the asks was made (default now).
 */
export async function sendRefreshAsk(
  target: RefreshTarget,
  count: number,
  pacedMs = 0,
  askedAt = Date.now(),
): Promise<void> {
  const ask: RefreshAsk = pacedMs > 0 ? { count, pacedMs, askedAt } : { count, askedAt };
  await target.client.workflow.signalWithStart(DBT_REFRESH_WORKFLOW_TYPE, {
    workflowId: target.workflowId,
    taskQueue: target.taskQueue,
    workflowTaskTimeout: REFRESH_WORKFLOW_TASK_TIMEOUT_MS,
    priority: { priorityKey: REFRESH_PRIORITY_KEY },
    args: [target.input],
    signal: refreshRequestedSignal,
    signalArgs: [ask],
  });
}

/**
 * Coalesces model-refresh asks inside one worker process: every terminal execution asks (the
 * requestModelRefresh local activity), but the refresher receives at most one signal per
 * `minIntervalMs` from this worker, carrying how many asks it stands for.
 *
 * Why: a signal is an event in the refresher's history. At hundreds of completions a minute the
 * refresher's history filled within minutes, and its continue-as-new was rejected by the server again
 * and again because a new signal arrived while each attempt was in flight (measured: up to 174 s
 * without a model refresh in the 10,000-execution benchmark).
 *
 * Nothing is lost: an ask resolves only once the signal that carries it has been accepted by
 * Temporal; if sending fails, every ask of that batch fails (and its local activity retries, joining
 * a later batch). The first ask after a quiet interval is sent at once, so a lone execution is not
 * delayed; during a burst an ask waits at most `minIntervalMs` (plus the send).
 *
 * A signal held back to keep to the interval is sent paced (`pacedMs` = `minIntervalMs`): more may
 * follow within that time, which the refresher allows for before it counts the asks as stopped
 * (src/policy/refresh-batch.ts). Every signal says when its earliest ask was made (`askedAt`), from
 * which the refresher counts its longest wait.
 */
export type SendRefreshAsk = (count: number, pacedMs: number, askedAt: number) => Promise<void>;

interface Batch {
  count: number;
  /** When the batch's first ask was made. */
  askedAt: number;
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class RefreshAskCoalescer {
  private batch: Batch | null = null;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private lastSentAt = Number.NEGATIVE_INFINITY;
  /** Signals sent (for tests and stats). */
  signalsSent = 0;

  constructor(
    private readonly send: SendRefreshAsk,
    private readonly minIntervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Resolves when a signal carrying this ask has been delivered; rejects if that signal failed. */
  ask(): Promise<void> {
    if (!this.batch) {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.batch = { count: 0, askedAt: this.now(), promise, resolve, reject };
      this.schedule();
    }
    this.batch.count += 1;
    return this.batch.promise;
  }

  /**
   * An ask nobody waits for: retried in the background (every `retryMs`, at most `attempts` times)
   * until a signal carrying it is delivered.
   */
  askInBackground(attempts = 12, retryMs = 5_000): void {
    const tryOnce = (left: number) => {
      this.ask().catch(() => {
        if (left > 1) setTimeout(() => tryOnce(left - 1), retryMs).unref();
      });
    };
    tryOnce(attempts);
  }

  private schedule(): void {
    if (this.timer || this.inFlight) return; // the send in flight schedules the next batch when done
    const wait = Math.max(0, this.lastSentAt + this.minIntervalMs - this.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush(wait > 0);
    }, wait);
  }

  private flush(paced: boolean): void {
    const batch = this.batch;
    if (!batch) return;
    this.batch = null;
    this.lastSentAt = this.now();
    this.signalsSent += 1;
    this.inFlight = Promise.resolve()
      .then(() => this.send(batch.count, paced ? this.minIntervalMs : 0, batch.askedAt))
      .then(batch.resolve, batch.reject);
    void this.inFlight.finally(() => {
      this.inFlight = null;
      if (this.batch) this.schedule();
    });
  }
}
