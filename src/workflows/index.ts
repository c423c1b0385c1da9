// Every workflow the worker registers. Workflow code runs in Temporal's deterministic sandbox:
// no Node built-ins, no I/O; activity types only.
export { policyExecution } from './policy-execution';
export { dbtRefresh } from './dbt-refresh';
