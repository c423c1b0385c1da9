/**
 * Where the workflow interceptors module is, for the workflow bundler's `workflowInterceptorModules`
 * (src/worker.ts): the .ts file in development, its compiled .js in dist/.
 */
import path from 'node:path';

export const WORKFLOW_INTERCEPTORS_MODULE = path.join(__dirname, 'workflow', 'interceptors');
