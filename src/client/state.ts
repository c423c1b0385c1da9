/**
 * Read an execution: its current state row (the workflow's `state` query, the same row the
 * warehouse holds) and its outcome once it has ended.
 */
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { CancelledFailure, TerminatedFailure, TimeoutFailure } from '@temporalio/common';
import { stateQuery } from '../contracts';
import type { StateRow } from '../policy';

/** The execution's current state row, from the workflow (running or closed). */
export async function readState(client: Client, id: string): Promise<StateRow> {
  return client.workflow.getHandle(id).query(stateQuery);
}

export type ExecutionOutcome =
  | { id: string; status: 'completed'; row: StateRow }
  /** `errorMessage` is the state row's error_message, or how Temporal ended the run. */
  | { id: string; status: 'failed'; errorMessage: string };

/**
 * Wait until the execution ends and say how. A failed execution is an outcome, not an error; other
 * errors (the server unreachable, no such workflow) throw.
 */
export async function awaitOutcome(client: Client, id: string): Promise<ExecutionOutcome> {
  try {
    const row = (await client.workflow.getHandle(id).result()) as StateRow;
    return { id, status: 'completed', row };
  } catch (err) {
    if (err instanceof WorkflowFailedError)
      return { id, status: 'failed', errorMessage: failureMessage(err) };
    throw err;
  }
}

/** A failed run's message: the workflow's own (the row's error_message), or how Temporal ended it. */
function failureMessage(err: WorkflowFailedError): string {
  const cause = err.cause;
  if (cause instanceof TerminatedFailure) return `terminated${cause.message ? `: ${cause.message}` : ''}`;
  if (cause instanceof TimeoutFailure) return 'timed out';
  if (cause instanceof CancelledFailure) return 'cancelled';
  return cause?.message || err.message;
}
