/** `policy-execution schedule create|list|delete`: recurring executions on Temporal Schedules. */
import { parseArgs } from 'node:util';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { loadWorkerConfig } from '../config';
import { START_SEARCH_ATTRIBUTES, WORKFLOW_TYPE } from '../contracts';
import { connect, optionsFromFlags, readPolicyFile, uiBase, UsageError } from './common';

export async function schedule(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { client, namespace, close } = await connect();
  try {
    if (sub === 'create') {
      const { values } = parseArgs({
        args: rest,
        options: {
          id: { type: 'string' },
          policy: { type: 'string' },
          every: { type: 'string' },
          cron: { type: 'string' },
          'max-polls': { type: 'string' },
          'poll-interval-ms': { type: 'string' },
          'no-refresh': { type: 'boolean' },
          paused: { type: 'boolean', default: false },
        },
      });
      if (!values.id) throw new UsageError('schedule create needs --id');
      if (!values.every === !values.cron)
        throw new UsageError('schedule create needs exactly one of --every or --cron');
      const policy = readPolicyFile(values.policy);
      const options = optionsFromFlags(values);
      await client.schedule.create({
        scheduleId: values.id,
        spec: values.every
          ? { intervals: [{ every: values.every as `${number}${'s' | 'm' | 'h' | 'd'}` }] }
          : { cronExpressions: [values.cron!] },
        action: {
          type: 'startWorkflow',
          workflowType: WORKFLOW_TYPE,
          taskQueue: loadWorkerConfig().taskQueue,
          workflowId: values.id,
          args: [policy, options],
          typedSearchAttributes: START_SEARCH_ATTRIBUTES,
        },
        policies: { overlap: ScheduleOverlapPolicy.SKIP },
        state: { paused: values.paused },
      });
      console.log(`created schedule ${values.id}`);
      console.log(
        `Web UI: ${uiBase()}/namespaces/${encodeURIComponent(namespace)}/schedules/${encodeURIComponent(values.id)}`,
      );
      return 0;
    }
    if (sub === 'list') {
      let n = 0;
      for await (const s of client.schedule.list()) {
        const action = s.action && 'workflowType' in s.action ? s.action.workflowType : '';
        const next = s.info.nextActionTimes[0]?.toISOString() ?? '-';
        console.log(`${s.scheduleId}\t${action}\t${s.state.paused ? 'paused' : 'active'}\tnext: ${next}`);
        n++;
      }
      if (n === 0) console.log('no schedules');
      return 0;
    }
    if (sub === 'delete') {
      const id = rest[0];
      if (!id) throw new UsageError('schedule delete needs a schedule id');
      await client.schedule.getHandle(id).delete();
      console.log(`deleted schedule ${id}`);
      return 0;
    }
    throw new UsageError(`unknown schedule command '${sub ?? ''}'`);
  } finally {
    await close();
  }
}
