/**
 * The package's entry point (`policy-execution`): the Temporal plugin and the client library, with
 * the types of an execution's input, options and state row. A program that only starts and reads
 * executions can import `policy-execution/client`, which loads nothing of the worker.
 */
export * from './plugin';
export * from './client';
