/**
 * policy-execution CLI:
 *   start --policy FILE [--wait] [--id ID [--rerun]] [--max-polls N] [--poll-interval-ms MS] [--no-refresh]
 *   start --policies FILE.jsonl|DIR [--wait] [--concurrency N] [--id-prefix P] [--max-polls N] [--poll-interval-ms MS] [--no-refresh]
 *   status ID [--source warehouse|temporal]
 *   schedule create --id ID --policy FILE (--every DURATION | --cron EXPR) [--max-polls N] [--poll-interval-ms MS]
 *   schedule list
 *   schedule delete ID
 *   reconcile [--since DURATION]
 */
import { UsageError } from './common';
import { reconcile } from './reconcile';
import { schedule } from './schedule';
import { start } from './start';
import { status } from './status';

const USAGE = `usage:
  policy-execution start --policy FILE [--wait] [--id ID [--rerun]] [--max-polls N] [--poll-interval-ms MS] [--no-refresh]
  policy-execution start --policies FILE.jsonl|DIR [--wait] [--concurrency N (20)] [--id-prefix P (bulk)]
                         [--max-polls N] [--poll-interval-ms MS] [--no-refresh]
      one execution per line (JSON Lines) or per *.json file: a policy, or {"id"?, "policy", "options"?};
      ids derived from each input, so running the same input again starts nothing new
  policy-execution status ID [--source warehouse|temporal]
  policy-execution schedule create --id ID --policy FILE (--every DURATION | --cron EXPR) [--max-polls N] [--poll-interval-ms MS]
  policy-execution schedule list
  policy-execution schedule delete ID
  policy-execution reconcile [--since DURATION]   (one endings-reconciler pass, e.g. --since 7d)

Temporal connection: TEMPORAL_ADDRESS (default localhost:7233), TEMPORAL_NAMESPACE (default 'default').
Web UI links use TEMPORAL_UI_URL (default http://localhost:8233).`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'start':
        return await start(rest);
      case 'status':
        return await status(rest);
      case 'schedule':
        return await schedule(rest);
      case 'reconcile':
        return await reconcile(rest);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        console.log(USAGE);
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${cmd}'`);
    }
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`policy-execution: ${(err as Error).message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`policy-execution: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
