/**
 * Where the workflow interceptors modules are, for the workflow bundler's `workflowInterceptorModules`
 * (src/plugin/workflows.ts): the .ts files in development, their compiled .js in dist/.
 */
import path from 'node:path';

/** For a bundle with the policy execution workflow (the whole bundle, a user's bundle with ours). */
export const WORKFLOW_INTERCEPTORS_MODULE = path.join(__dirname, 'workflow', 'interceptors');
/** For the dbt worker's bundle, which holds the dbtRefresh workflow alone. */
export const REFRESH_INTERCEPTORS_MODULE = path.join(__dirname, 'workflow', 'refresh-interceptors');
