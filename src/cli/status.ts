/** `policy-execution status ID`: an execution's state row, from the warehouse or from Temporal. */
import { parseArgs } from 'node:util';
import { WorkflowNotFoundError } from '@temporalio/client';
import { readState } from '../client';
import { loadWarehouseConfig } from '../config';
import type { StateRow } from '../policy';
import { createWarehouse, describeWarehouse } from '../warehouse/factory';
import { connect, UsageError } from './common';
import { formatRow } from './format';

export async function status(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { source: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  const id = positionals[0];
  if (!id) throw new UsageError('status needs an execution id');
  const source = values.source ?? 'warehouse';
  if (source !== 'warehouse' && source !== 'temporal')
    throw new UsageError("--source is 'warehouse' or 'temporal'");
  let row: StateRow | null = null;
  if (source === 'warehouse') {
    const config = loadWarehouseConfig();
    const warehouse = await createWarehouse(config, { component: 'cli' });
    try {
      row = await warehouse.getState(id);
    } finally {
      await warehouse.close();
    }
    if (!row) {
      console.error(`no row for execution '${id}' in policy_execution_state (${describeWarehouse(config)})`);
      return 1;
    }
  } else {
    const { client, close } = await connect();
    try {
      row = await readState(client, id);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        console.error(`no workflow '${id}'`);
        return 1;
      }
      throw err;
    } finally {
      await close();
    }
  }
  console.log(values.json ? JSON.stringify(row, null, 2) : formatRow(row));
  return 0;
}
