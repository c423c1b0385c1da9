/**
 * Bulk start: many executions from a list of inputs, with bounded concurrency, stable ids and
 * progress. Every input is validated before the first start (BulkInputError lists the problems and
 * nothing starts). Ids are derived from the inputs (src/client/stable-id.ts), so running the same
 * inputs again starts nothing new: each one counts as already started and, with `wait`, its
 * earlier execution is awaited like the new ones.
 */
import type { Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { ExecutionOptionsInput, StateRow } from '../policy';
import { prepareBulk, type BulkInput, type InputProblem, type PreparedInput } from './bulk-input';
import { createLimit } from './limit';
import { ProgressTracker, type BulkProgress } from './progress';
import { tryStartExecution } from './start';
import { awaitOutcome } from './state';

/** Starts in flight at once unless the caller says otherwise. */
export const DEFAULT_CONCURRENCY = 20;
/** Executions awaited at once (each is one long poll on the server). */
export const DEFAULT_WAIT_CONCURRENCY = 100;

export interface StartManyOptions {
  /** Task queue of the policy workers; default `policy-execution`. */
  taskQueue?: string;
  /** Options common to every input; an input's own options win field by field. */
  options?: ExecutionOptionsInput;
  /** Prefix of derived ids; default `bulk`. */
  idPrefix?: string;
  /** Starts in flight at once; default 20. */
  concurrency?: number;
  /** Follow every execution to its end. */
  wait?: boolean;
  /** Executions awaited at once when waiting; default 100. */
  waitConcurrency?: number;
  /** Called on every change and every `progressIntervalMs` (default 1000), and once at the end. */
  onProgress?: (progress: BulkProgress) => void;
  progressIntervalMs?: number;
}

export interface BulkItemResult {
  /** Position of the input (0-based). */
  index: number;
  id: string;
  start: 'started' | 'already-started' | 'start-failed';
  /** With `wait`: how the execution ended. */
  outcome?: 'completed' | 'failed';
  /** Why the start or the execution failed. */
  errorMessage?: string;
  /** With `wait`, for a completed execution: its final state row. */
  row?: StateRow;
}

export interface StartManyResult {
  items: BulkItemResult[];
  progress: BulkProgress;
}

/** Some inputs break the rules; nothing was started. */
export class BulkInputError extends Error {
  constructor(readonly problems: InputProblem[]) {
    super(
      `${problems.length} input${problems.length === 1 ? '' : 's'} cannot start: ` +
        problems
          .slice(0, 3)
          .map((p) => `input ${p.index + 1}: ${p.message}`)
          .join('; ') +
        (problems.length > 3 ? '; ...' : ''),
    );
    this.name = 'BulkInputError';
  }
}

export async function startMany(
  client: Client,
  inputs: readonly BulkInput[],
  opts: StartManyOptions = {},
): Promise<StartManyResult> {
  const prepared = prepareBulk(inputs, { options: opts.options, idPrefix: opts.idPrefix });
  if (!prepared.ok) throw new BulkInputError(prepared.problems);
  const startSlot = createLimit(opts.concurrency ?? DEFAULT_CONCURRENCY);
  const waitSlot = createLimit(opts.waitConcurrency ?? DEFAULT_WAIT_CONCURRENCY);
  const tracker = new ProgressTracker(prepared.inputs.length, opts.wait ?? false);
  const report = () => opts.onProgress?.(tracker.snapshot());
  const timer = opts.onProgress ? setInterval(report, opts.progressIntervalMs ?? 1000) : undefined;
  timer?.unref();

  const run = async (input: PreparedInput): Promise<BulkItemResult> => {
    const item = await startSlot(() => startOne(client, input, opts.taskQueue));
    tracker.record(
      item.start === 'started'
        ? 'started'
        : item.start === 'already-started'
          ? 'alreadyStarted'
          : 'startFailed',
    );
    report();
    if (!opts.wait || item.start === 'start-failed') return item;
    const ended = await waitSlot(() => endOf(client, item));
    tracker.record(ended.outcome === 'completed' ? 'completed' : 'failed');
    report();
    return ended;
  };
  try {
    report();
    const items = await Promise.all(prepared.inputs.map(run));
    const progress = tracker.snapshot();
    opts.onProgress?.(progress);
    return { items, progress };
  } finally {
    if (timer) clearInterval(timer);
  }
}

async function startOne(client: Client, input: PreparedInput, taskQueue?: string): Promise<BulkItemResult> {
  const base = { index: input.index, id: input.id };
  try {
    const attempt = await tryStartExecution(client, {
      policy: input.policy,
      options: input.options,
      id: input.id,
      taskQueue,
      reusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      trigger: 'bulk',
    });
    return { ...base, start: attempt.started ? 'started' : 'already-started' };
  } catch (err) {
    return { ...base, start: 'start-failed', errorMessage: err instanceof Error ? err.message : String(err) };
  }
}

async function endOf(client: Client, item: BulkItemResult): Promise<BulkItemResult> {
  try {
    const outcome = await awaitOutcome(client, item.id);
    return outcome.status === 'completed'
      ? { ...item, outcome: 'completed', row: outcome.row }
      : { ...item, outcome: 'failed', errorMessage: outcome.errorMessage };
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return { ...item, outcome: 'failed', errorMessage: `could not follow the execution: ${why}` };
  }
}
