/**
 * Idempotency keys. Pure (workflows import this). POSTs carry an Idempotency-Key derived from the
 * execution id, since activities run at least once.
 */
export function idempotencyKey(executionId: string, step: 'create' | 'circuit'): string {
  return `${executionId}:${step}`;
}
