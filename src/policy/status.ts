/**
 * Status mapping from the usage guide. Pure: imported by workflows and activities alike.
 *
 *   success / completed / active / ready  -> ready   (policy is ready for the circuit breaker)
 *   pending / processing                  -> wait    (policy is still being processed)
 *   failed / error                        -> failed  (policy creation failed)
 *
 * Anything else is `unknown`: the workflow keeps polling (bounded) and names the status it saw
 * when it gives up, rather than guessing.
 */
export const READY_STATUSES = ['success', 'completed', 'active', 'ready'] as const;
export const WAIT_STATUSES = ['pending', 'processing'] as const;
export const FAILED_STATUSES = ['failed', 'error'] as const;

export type PolicyStatusClass = 'ready' | 'wait' | 'failed' | 'unknown';

export function classifyPolicyStatus(status: unknown): PolicyStatusClass {
  if (typeof status !== 'string') return 'unknown';
  const s = status.trim().toLowerCase();
  if ((READY_STATUSES as readonly string[]).includes(s)) return 'ready';
  if ((WAIT_STATUSES as readonly string[]).includes(s)) return 'wait';
  if ((FAILED_STATUSES as readonly string[]).includes(s)) return 'failed';
  return 'unknown';
}

/** The state table's `status` values, in the order an execution moves through them. */
export const EXECUTION_STATUSES = [
  'pending',
  'policy_created',
  'policy_ready',
  'completed',
  'error',
] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];
