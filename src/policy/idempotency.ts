/**
 * Idempotency keys. Pure (workflows import this). POSTs carry an Idempotency-Key derived from the
 * execution, since activities run at least once.
 *
 * A key names the execution and its run chain: `<execution id>:<original run id>:<step>`. A reset
 * keeps the original run id (it is the same execution: the API sees the same keys and acts once); a
 * re-run of the same workflow id starts a new chain (a new execution: new keys). Executions started
 * before keys named the run chain keep `<execution id>:<step>` (no `run`).
 */
export function idempotencyKey(executionId: string, step: 'create' | 'circuit', run?: string): string {
  return run === undefined ? `${executionId}:${step}` : `${executionId}:${run}:${step}`;
}
