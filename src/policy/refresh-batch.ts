/**
 * When the refresher runs dbt for the asks it holds (src/workflows/dbt-refresh.ts): once asks have
 * stopped for a quiet time, but never later than `maxWaitMs` after the first ask of the batch.
 *
 * A worker sends at most one ask signal per ask interval. A signal it held back to keep to that
 * interval says so (`pacedMs`: its next one may follow within that time), so the refresher does not
 * take the gap before the next signal of a burst for asks that stopped: its quiet time after such an
 * ask is `pacedMs` plus the debounce. During a burst the batch then runs every `maxWaitMs`, as it did
 * with one signal a second; a lone execution's ask is not held back and waits only the debounce.
 *
 * A signal also says when the earliest ask it carries was made (`askedAt`): `maxWaitMs` counts from
 * then, so time the ask spent held back by its worker, or waiting for the refresher's next workflow
 * task (late under load, or lost and retried by Temporal after its timeout), counts against it.
 */
/** What the rules read of one ask signal (the signal's type, `RefreshAsk`, is in src/contracts.ts). */
interface AskFields {
  count?: unknown;
  pacedMs?: unknown;
  askedAt?: unknown;
}

/** A field's value if it is a finite number above zero, else null (a signal is outside input). */
function positive(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : null;
}

/** How many asks one signal stands for (1 unless it carries a positive whole count). */
export function askCount(ask: AskFields | undefined): number {
  const count = positive(ask?.count);
  return count !== null && Number.isInteger(count) ? count : 1;
}

/** How long after this ask the asks count as stopped. */
export function quietAfter(ask: AskFields | undefined, debounceMs: number, maxWaitMs: number): number {
  return debounceMs + Math.min(positive(ask?.pacedMs) ?? 0, maxWaitMs);
}

/**
 * When this ask was made, for the batch's `maxWaitMs`: the signal's `askedAt` (never later than
 * `seenAt`, when the refresher saw it: another clock may run ahead), or `seenAt` without one.
 */
export function askedAt(ask: AskFields | undefined, seenAt: number): number {
  return Math.min(positive(ask?.askedAt) ?? seenAt, seenAt);
}

/** The time (ms since the epoch) the batch is due. */
export function batchDueAt(batch: {
  firstAskAt: number;
  lastAskAt: number;
  quietMs: number;
  maxWaitMs: number;
}): number {
  return Math.min(batch.lastAskAt + batch.quietMs, batch.firstAskAt + batch.maxWaitMs);
}
