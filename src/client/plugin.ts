/**
 * The Temporal client plugin: add it to your own `new Client({ plugins: [...] })` and every
 * `policyExecution` start through that client follows the rules of the client library
 * (./start.ts), whoever starts it: `client.workflow.start`, `execute` or the library's own
 * helpers.
 *
 *   - the policy and the options are checked with the workflow's rules first: a bad input throws
 *     InvalidExecutionInputError and nothing starts (the workflow would end it in an `error` row);
 *   - a workflow id that already ran is refused unless the start names a reuse policy
 *     (REJECT_DUPLICATE, design decision 18).
 *
 * Other workflow types pass untouched. Built on @temporalio/plugin's SimplePlugin (client interceptors);
 * client-side only, so it loads nothing of the worker.
 */
import type { WorkflowClientInterceptor, WorkflowStartInput } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { SimplePlugin } from '@temporalio/plugin';
import { WORKFLOW_TYPE } from '../contracts';
import { validateOptions, validatePolicy } from '../policy';
import { InvalidExecutionInputError } from './start';

export interface PolicyExecutionClientPluginOptions {
  /** Check the policy and the options before starting. Default true. */
  validateInput?: boolean;
  /** Refuse a workflow id that already ran, unless the start names a reuse policy. Default true. */
  rejectDuplicateIds?: boolean;
}

function checkedStart(
  input: WorkflowStartInput,
  opts: PolicyExecutionClientPluginOptions,
): WorkflowStartInput {
  if (input.workflowType !== WORKFLOW_TYPE) return input;
  const [policy, options] = input.options.args ?? [];
  if (opts.validateInput !== false) {
    const p = validatePolicy(policy);
    if (!p.ok) throw new InvalidExecutionInputError(p.field, p.message);
    const o = validateOptions(options);
    if (!o.ok) throw new InvalidExecutionInputError(o.field, o.message);
  }
  if (opts.rejectDuplicateIds === false || input.options.workflowIdReusePolicy !== undefined) return input;
  return {
    ...input,
    options: { ...input.options, workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE },
  };
}

export class PolicyExecutionClientPlugin extends SimplePlugin {
  constructor(options: PolicyExecutionClientPluginOptions = {}) {
    const interceptor: WorkflowClientInterceptor = {
      startWithDetails: (input, next) => next(checkedStart(input, options)),
    };
    super({ name: 'policy-execution-client', clientInterceptors: { workflow: [interceptor] } });
  }
}
