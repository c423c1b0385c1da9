/**
 * Where the workflow interceptors modules are, for the workflow bundler's `workflowInterceptorModules`
 * (src/plugin/workflows.ts): the .ts files in development, their compiled .js in dist/.
 */
import path from 'node:path';

/** For a bundle with our workflows (the whole bundle, a user's bundle with ours). */
export const WORKFLOW_INTERCEPTORS_MODULE = path.join(__dirname, 'workflow', 'interceptors');
