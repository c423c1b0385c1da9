/**
 * `policy-execution reconcile [--since DURATION]`: one pass of the endings reconciler, by hand, over
 * runs that closed in the last DURATION (default 24h; e.g. `7d`) — for runs that ended while no
 * worker was running to notice. Prints every row it set to error.
 */
import { parseArgs } from 'node:util';
import { msToNumber } from '@temporalio/common';
import { loadWarehouseConfig } from '../config';
import { EndingsReconciler } from '../reconciler';
import { createWarehouse } from '../warehouse/factory';
import { connect, UsageError } from './common';

export async function reconcile(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { since: { type: 'string', default: '24h' } } });
  let lookbackMs: number;
  try {
    lookbackMs = msToNumber(values.since as Parameters<typeof msToNumber>[0]);
  } catch {
    throw new UsageError(`--since takes a duration such as 90m, 24h or 7d, got '${values.since}'`);
  }
  if (!(lookbackMs > 0)) throw new UsageError(`--since must be longer than 0, got '${values.since}'`);
  const warehouse = await createWarehouse(loadWarehouseConfig(), { component: 'cli' });
  const { client, close } = await connect();
  try {
    const pass = await new EndingsReconciler({
      client,
      warehouse,
      lookbackMs,
      logger: { info: (m) => console.log(m), warn: (m) => console.error(m) },
    }).reconcileOnce();
    console.log(
      `reconcile: ${pass.closedRuns} closed runs looked at, ${pass.fixed.length} rows set to error`,
    );
    return 0;
  } finally {
    await close();
    await warehouse.close();
  }
}
