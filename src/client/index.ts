/**
 * The client library: start an execution, start many, read an execution's state. Client-side
 * (Node) code, for the project CLI and for programs that drive policy executions.
 *
 *   const handle = await startExecution(client, { policy, options: { maxPolls: 5 }, id: 'my-run' });
 *   const { items, progress } = await startMany(client, inputs, { wait: true, onProgress });
 *   const row = await readState(client, 'my-run');
 *
 * With PolicyExecutionClientPlugin on a client, every policyExecution start through it is checked the
 * same way (./plugin.ts).
 */
export {
  startExecution,
  tryStartExecution,
  newExecutionId,
  ExecutionIdReusedError,
  InvalidExecutionInputError,
  type ExecutionRequest,
  type StartAttempt,
} from './start';
export {
  startMany,
  BulkInputError,
  DEFAULT_CONCURRENCY,
  DEFAULT_WAIT_CONCURRENCY,
  type StartManyOptions,
  type StartManyResult,
  type BulkItemResult,
} from './bulk';
export { bulkInputFrom, prepareBulk, idPrefixProblem, type BulkInput, type InputProblem } from './bulk-input';
export { canonicalJson, deriveExecutionIds, inputDigest, DEFAULT_ID_PREFIX } from './stable-id';
export { ProgressTracker, type BulkProgress, type BulkCounts } from './progress';
export { readState, awaitOutcome, type ExecutionOutcome } from './state';
export { PolicyExecutionClientPlugin, type PolicyExecutionClientPluginOptions } from './plugin';
export { TASK_QUEUE, WORKFLOW_TYPE } from '../contracts';
export type { PolicyData, ExecutionOptionsInput, StateRow } from '../policy';
