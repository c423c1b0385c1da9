/**
 * How long an API activity waits for the state writes beside its call (docs/design.md, decision 21).
 */
import { API_ACTIVITY_START_TO_CLOSE_MS } from '../policy/activity-timeouts';

/**
 * How long an API activity waits for the state writes beside its call, counted from the attempt's
 * start: well inside its start-to-close timeout. A write stuck behind an unavailable warehouse (a
 * Snowflake statement waits up to SNOWFLAKE_QUERY_TIMEOUT_MS, 30 s, and may queue behind another)
 * must not time the attempt out, which would repeat an API call the API already answered.
 */
export const WRITE_BUDGET_MS = API_ACTIVITY_START_TO_CLOSE_MS - 10_000;

/** True once `work` is done (rejecting as it does), false if `deadline` (epoch ms) comes first. */
export async function settlesBy(work: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([work.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}
