/**
 * The workflow interceptors module of the dbt worker's bundle, which holds the dbtRefresh workflow
 * alone (src/plugin/workflows.ts): the parts every workflow gets (common.ts), without a policy
 * execution's, so the bundle carries none of the policy rules.
 */
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';
import { workflowInterceptors } from './common';

export const interceptors: WorkflowInterceptorsFactory = () => workflowInterceptors();
