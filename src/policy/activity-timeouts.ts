/**
 * The policy API activities' timeouts: the workflow schedules its API activities with them, the
 * activities beat and budget their state writes by them, and the bench's floor schedules its own
 * activities with them so that both make the same timer tasks on the server (docs/performance-log.md,
 * change 31). No imports: workflow code of any bundle may use it.
 */

/**
 * Start-to-close timeout of each policy API activity attempt (create, poll, trigger): it bounds an
 * attempt whose worker died or never received the task, then Temporal's retry policy retries. The
 * API client's own deadline (POLICY_API_TIMEOUT_MS) must end a call well before it: see
 * MAX_API_TIMEOUT_MS.
 */
export const API_ACTIVITY_START_TO_CLOSE_MS = 45_000;
/**
 * Heartbeats of the policy API activities: an attempt beats every `beatMs` while it runs (its call
 * and its state writes), so one whose worker died or never received it is retried after
 * `timeoutMs`, not after the whole start-to-close (docs/guarantees.md#a-lost-activity-task). Calls
 * that end within `beatMs` send no beat. The SDK sends beats at most every 0.8 timeouts (16 s),
 * which leaves a held-up beat 4 s; one later than that times a running attempt out, and the retry
 * calls the API again under the same idempotency key.
 */
export const API_ACTIVITY_HEARTBEAT = { timeoutMs: 20_000, beatMs: 2_000 } as const;
/**
 * Longest API client deadline allowed: the attempt also writes its state row, so a call must end
 * with at least 5 s of the attempt left, or Temporal would time the attempt out and call again.
 */
export const MAX_API_TIMEOUT_MS = API_ACTIVITY_START_TO_CLOSE_MS - 5_000;
