/**
 * The floor's worker process, started by bench/src/stack.ts the way the project's worker is (same
 * Node, same WORKER_* tuning, its own task queue), running the pre-built bundle of
 * bench/floor/workflows.ts (bench/src/prepare.ts) and activities that only wait the latency.
 *
 *   TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE   the bench's dev server
 *   FLOOR_TASK_QUEUE                       its task queue
 *   FLOOR_LATENCY_MS                       what each activity waits (the simulator's latency)
 *   FLOOR_API_URL, FLOOR_WAREHOUSE_PATH    set (BENCH_FLOOR_IO=1): the activities call the simulator
 *                                          and write state rows to this DuckDB file instead of waiting
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { workerTuningFromEnv } from '../../src/worker';
import { createFloorActivities, createFloorIoActivities } from './activities';
import { FLOOR_BUNDLE_PATH } from './paths';

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
}

async function main(): Promise<void> {
  const taskQueue = required('FLOOR_TASK_QUEUE');
  const latencyMs = Number(required('FLOOR_LATENCY_MS'));
  const namespace = process.env.TEMPORAL_NAMESPACE || 'default';
  const apiUrl = process.env.FLOOR_API_URL;
  const activities = apiUrl
    ? createFloorIoActivities({ apiUrl, warehousePath: required('FLOOR_WAREHOUSE_PATH') })
    : createFloorActivities(latencyMs);
  const connection = await NativeConnection.connect({ address: required('TEMPORAL_ADDRESS') });
  try {
    const worker = await Worker.create({
      connection,
      namespace,
      taskQueue,
      workflowBundle: { codePath: FLOOR_BUNDLE_PATH },
      activities,
      ...workerTuningFromEnv(),
    });
    console.log(
      `floor worker ready: task-queue=${taskQueue} ${apiUrl ? `I/O: ${apiUrl}` : `latency=${latencyMs} ms`}`,
    );
    // SIGINT / SIGTERM shut it down (Temporal's Runtime handles the signals).
    await worker.run();
  } finally {
    await connection.close();
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error('floor worker failed:', err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
