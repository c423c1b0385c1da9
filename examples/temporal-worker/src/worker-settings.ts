// The worker's task queue: the worker polls it, the starter starts executions on it.
export const TASK_QUEUE = process.env.TASK_QUEUE ?? 'my-app';
