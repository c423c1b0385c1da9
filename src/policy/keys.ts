/**
 * Idempotency keys and search attributes. Pure (workflows import this).
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** POSTs carry an Idempotency-Key derived from the execution id, since activities run at least once. */
export function idempotencyKey(executionId: string, step: 'create' | 'circuit'): string {
  return `${executionId}:${step}`;
}

/** Registered on the dev server by `make up` (`--search-attribute PolicyId=Keyword ...`). */
export const SEARCH_ATTRIBUTE_NAMES = {
  policyId: 'PolicyId',
  status: 'PolicyExecutionStatus',
} as const;

export const PolicyIdKey = defineSearchAttributeKey(
  SEARCH_ATTRIBUTE_NAMES.policyId,
  SearchAttributeType.KEYWORD,
);
export const PolicyExecutionStatusKey = defineSearchAttributeKey(
  SEARCH_ATTRIBUTE_NAMES.status,
  SearchAttributeType.KEYWORD,
);

export const TASK_QUEUE = 'policy-execution';
export const WORKFLOW_TYPE = 'policyExecution';
