/**
 * The project's dev servers run with its dynamic config (devtools/temporal/dynamic-config.txt): here
 * the setting that keeps search attributes in the server's cache. `temporal server start-dev` would
 * otherwise read the cluster's search-attribute definitions from SQLite again at every use
 * (docs/performance-log.md, change 30): every start that carries a search attribute reads them. Read
 * from the dev server's own metrics (test/global-setup.ts).
 */
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { START_SEARCH_ATTRIBUTES } from '../../src/contracts';
import {
  countsBetween,
  devServerCounters,
  type OperationCounts,
} from '../../devtools/temporal/server-metrics';
import { uniqueId } from '../helpers/harness';

const N = 10;
let connection: Connection;
let client: Client;

beforeAll(async () => {
  connection = await Connection.connect({ address: inject('temporalAddress') });
  client = new Client({ connection });
});
afterAll(async () => {
  await connection?.close();
});

/** What moved since `before`, read until `done` holds (the server reports its counters every few seconds). */
async function movedUntil(
  metricsUrl: string,
  before: OperationCounts,
  done: (moved: OperationCounts) => boolean,
): Promise<OperationCounts> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const moved = countsBetween(before, (await devServerCounters(metricsUrl)).persistence);
    if (done(moved) || Date.now() > deadline) return moved;
    await new Promise((r) => setTimeout(r, 250));
  }
}

it('starts executions with search attributes without reading the definitions from SQLite each time', async () => {
  const metricsUrl = inject('temporalMetricsUrl');
  const taskQueue = uniqueId('no-worker');
  const before = (await devServerCounters(metricsUrl)).persistence;
  const handles = [];
  for (let i = 0; i < N; i++) {
    // No worker polls this queue: each start is the server's work alone.
    handles.push(
      await client.workflow.start('policyExecution', {
        taskQueue,
        workflowId: uniqueId('sa-cache'),
        args: [{}],
        typedSearchAttributes: START_SEARCH_ATTRIBUTES,
      }),
    );
  }
  const moved = await movedUntil(metricsUrl, before, (m) => (m.CreateWorkflowExecution ?? 0) >= N);
  await Promise.all(handles.map((h) => h.terminate('test over')));
  // The counters show these starts (the metric and its labels are still there) ...
  expect(moved.CreateWorkflowExecution ?? 0).toBeGreaterThanOrEqual(N);
  // ... and none of them read the cluster's metadata (with the dev server's default, each did).
  expect(moved.GetCurrentClusterMetadata ?? 0).toBeLessThan(N);
});
