/**
 * Heartbeats while an activity works. An attempt Temporal records as started but never delivers to
 * a worker, or whose worker dies, ends only by a timeout (docs/guarantees.md#a-lost-activity-task);
 * with a heartbeat timeout that is the heartbeat timeout, not the whole start-to-close. Work that
 * ends before the first beat sends none.
 */
import type { Context } from '@temporalio/activity';

export async function whileBeating<T>(
  ctx: Context,
  beatMs: number,
  work: () => Promise<T>,
  details?: unknown,
): Promise<T> {
  const beat = setInterval(() => ctx.heartbeat(details), beatMs);
  try {
    return await work();
  } finally {
    clearInterval(beat);
  }
}
