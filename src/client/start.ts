/**
 * Start one execution: the policyExecution workflow with a policy and its options, under an
 * execution (workflow) id. An id is not reused unless asked for: the default reuse policy is
 * REJECT_DUPLICATE (design decision 18), and a refused start explains itself.
 */
import {
  WorkflowExecutionAlreadyStartedError,
  type Client,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { START_SEARCH_ATTRIBUTES, TASK_QUEUE, WORKFLOW_TYPE } from '../contracts';
import { validateOptions, validatePolicy, type ExecutionOptionsInput } from '../policy';

export interface ExecutionRequest {
  /** The usage guide's policy object; validated before the start. */
  policy: unknown;
  /** The workflow's options (maxPolls, pollIntervalMs, refreshModel, retry, executionId). */
  options?: ExecutionOptionsInput;
  /** The execution (workflow) id; a fresh `policy-exec-<time>-<random>` when absent. */
  id?: string;
  /** Task queue of the policy workers; default `policy-execution`. */
  taskQueue?: string;
  /** REJECT_DUPLICATE (default): an id that already ran is refused. ALLOW_DUPLICATE: run it again. */
  reusePolicy?: WorkflowIdReusePolicy;
  memo?: Record<string, unknown>;
}

/** The policy or the options break the workflow's input rules; nothing was started. */
export class InvalidExecutionInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'InvalidExecutionInputError';
  }
}

/** The id is running or already ran, and the reuse policy refused it. */
export class ExecutionIdReusedError extends Error {
  constructor(
    readonly workflowId: string,
    message: string,
  ) {
    super(message);
    this.name = 'ExecutionIdReusedError';
  }
}

/** A fresh execution id: `policy-exec-<UTC yyyymmdd-hhmmss>-<6 random characters>`. */
export function newExecutionId(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  return `policy-exec-${stamp}-${Math.random().toString(36).slice(2, 8)}`;
}

export type StartAttempt =
  | { started: true; id: string; handle: WorkflowHandleWithFirstExecutionRunId }
  | { started: false; id: string };

/**
 * Start the execution, or say that its id was already started (`started: false`) without asking
 * Temporal why. Any other failure throws.
 */
export async function tryStartExecution(client: Client, request: ExecutionRequest): Promise<StartAttempt> {
  const policy = validatePolicy(request.policy);
  if (!policy.ok) throw new InvalidExecutionInputError(policy.field, policy.message);
  const options = validateOptions(request.options);
  if (!options.ok) throw new InvalidExecutionInputError(options.field, options.message);
  const id = request.id ?? newExecutionId();
  try {
    const handle = await client.workflow.start(WORKFLOW_TYPE, {
      taskQueue: request.taskQueue ?? TASK_QUEUE,
      workflowId: id,
      args: [policy.value, request.options ?? {}],
      workflowIdReusePolicy: request.reusePolicy ?? WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: START_SEARCH_ATTRIBUTES,
      ...(request.memo ? { memo: request.memo } : {}),
    });
    return { started: true, id, handle };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { started: false, id };
    throw err;
  }
}

/** Start one execution. A refused id throws ExecutionIdReusedError, saying what happened to it. */
export async function startExecution(
  client: Client,
  request: ExecutionRequest,
): Promise<WorkflowHandleWithFirstExecutionRunId> {
  const attempt = await tryStartExecution(client, request);
  if (attempt.started) return attempt.handle;
  throw await reusedIdError(client, attempt.id);
}

/** Why a start with `workflowId` was refused: it is running, or it already ran. */
async function reusedIdError(client: Client, workflowId: string): Promise<ExecutionIdReusedError> {
  let last: string;
  try {
    const d = await client.workflow.getHandle(workflowId).describe();
    if (d.status.name === 'RUNNING') {
      return new ExecutionIdReusedError(
        workflowId,
        `execution '${workflowId}' is already running (run ${d.runId}); follow it with: status ${workflowId}`,
      );
    }
    last = `its last run ${d.runId} ended ${d.status.name.toLowerCase()}${d.closeTime ? ` at ${d.closeTime.toISOString()}` : ''}`;
  } catch {
    last = 'it already ran';
  }
  return new ExecutionIdReusedError(
    workflowId,
    `execution '${workflowId}' was already started (${last}); an execution id is not reused.\n` +
      `  pick another --id, or pass --rerun to run it again as a new run of the same execution ` +
      `(new idempotency keys; its state row then shows the new run)`,
  );
}
