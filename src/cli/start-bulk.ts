/**
 * `policy-execution start --policies FILE.jsonl|DIR`: start one execution per input, with bounded
 * concurrency, ids derived from the inputs (running the same input again starts nothing new), live
 * progress on stderr and, with --wait, a summary of how every execution ended (exit code 1 if any
 * failed). Every input is checked before anything starts.
 */
import { loadWorkerConfig } from '../config';
import { DEFAULT_CONCURRENCY, DEFAULT_ID_PREFIX, idPrefixProblem, startMany } from '../client';
import { formatBulkSummary } from './bulk-summary';
import { connect, optionsFromFlags, UsageError } from './common';
import { PoliciesInputError, readPolicies } from './policies-input';
import { createProgressView } from './progress-view';

/** The most starts in flight a run may ask for. */
const MAX_CONCURRENCY = 1000;

export interface BulkFlags {
  policies: string;
  policy?: string;
  id?: string;
  rerun?: boolean;
  wait?: boolean;
  concurrency?: string;
  'id-prefix'?: string;
  'max-polls'?: string;
  'poll-interval-ms'?: string;
  'no-refresh'?: boolean;
}

function concurrencyFrom(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_CONCURRENCY;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_CONCURRENCY)
    throw new UsageError(`--concurrency must be a whole number from 1 to ${MAX_CONCURRENCY}, got '${raw}'`);
  return n;
}

export async function startBulk(values: BulkFlags): Promise<number> {
  if (values.policy !== undefined)
    throw new UsageError('give --policy FILE or --policies FILE|DIR, not both');
  if (values.id !== undefined || values.rerun)
    throw new UsageError(
      '--id and --rerun start one execution (--policy); with --policies each input gets an id derived ' +
        'from it, or its own "id" in a {"id", "policy", "options"} line',
    );
  const concurrency = concurrencyFrom(values.concurrency);
  const idPrefix = values['id-prefix'] ?? DEFAULT_ID_PREFIX;
  const prefixProblem = idPrefixProblem(idPrefix);
  if (prefixProblem)
    throw new UsageError(`--id-prefix '${idPrefix}': ${prefixProblem.replace(/^id prefix: /, '')}`);
  const options = optionsFromFlags(values);
  let located;
  try {
    located = readPolicies(values.policies, { options, idPrefix });
  } catch (err) {
    if (!(err instanceof PoliciesInputError)) throw err;
    console.error(`policy-execution: ${err.message}`);
    return 2;
  }

  const wait = values.wait ?? false;
  const { client, close } = await connect();
  try {
    console.log(
      `starting ${located.length} execution${located.length === 1 ? '' : 's'} from ${values.policies} ` +
        `(${concurrency} at a time${wait ? ', waiting for every one to end' : ''})`,
    );
    const view = createProgressView(process.stderr);
    const { items, progress } = await startMany(
      client,
      located.map((l) => l.input),
      {
        taskQueue: loadWorkerConfig().taskQueue,
        options,
        idPrefix,
        concurrency,
        wait,
        onProgress: (p) => view.update(p),
      },
    );
    view.finish(progress);
    console.log(formatBulkSummary(items, progress));
    if (!wait)
      console.log(
        `follow them: .venv/bin/temporal workflow list --query "WorkflowId STARTS_WITH '${idPrefix}-'"`,
      );
    const failed = progress.startFailed + (wait ? progress.failed : 0);
    return failed > 0 ? 1 : 0;
  } finally {
    await close();
  }
}
