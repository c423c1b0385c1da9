/**
 * How a failure inside a policy activity becomes a Temporal failure: Temporal's retry policy does the
 * retrying (no library retries on top), with the retry timing of the current attempt.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, msOptionalToNumber } from '@temporalio/common';
import { BrokenCircuitError } from 'cockatiel';
import { PolicyApiError } from '../policy-api/types';
import { WarehouseBusyError, WarehouseConfigError, WarehouseUnavailableError } from '../warehouse/types';

/** A Retry-After longer than this (or than the retry policy's maximum interval, if longer) is cut to it. */
export const MAX_RETRY_AFTER_MS = 60_000;

export interface RetryTiming {
  /** How long the retry policy waits after the current attempt. */
  backoffMs: number;
  /** The retry policy's maximum interval. */
  maximumIntervalMs: number;
}

/**
 * The current activity attempt's retry timing from its retry policy (initial interval times the
 * backoff coefficient per attempt, capped at the maximum interval); undefined outside an activity.
 */
export function retryTiming(): RetryTiming | undefined {
  let info: Context['info'];
  try {
    info = Context.current().info;
  } catch {
    return undefined;
  }
  const policy = info.retryPolicy;
  if (!policy) return undefined;
  const initial = msOptionalToNumber(policy.initialInterval) ?? 1000;
  const max = msOptionalToNumber(policy.maximumInterval) ?? initial * 100;
  const backoffMs = Math.min(
    initial * (policy.backoffCoefficient ?? 2) ** Math.max(0, info.attempt - 1),
    max,
  );
  return { backoffMs, maximumIntervalMs: max };
}

/**
 * Converts a client error into a Temporal failure: Temporal's retry policy does the retrying.
 * `timing` is the current attempt's retry policy timing (see retryTiming); found by the chaos suite:
 *   - an open breaker never makes the next attempt come sooner than the retry policy's own backoff.
 *     It used to retry every `halfOpenAfterMs`, which spent an execution's attempts in a fraction of
 *     its retry policy's time: with the defaults every execution in flight failed during a one-minute
 *     outage (scenario api-down-1min);
 *   - a Retry-After is honoured up to MAX_RETRY_AFTER_MS (or the policy's maximum interval, if
 *     longer): `Retry-After: 86400` used to park the execution for a day (scenario hostile-responses).
 */
export function toApplicationFailure(err: unknown, halfOpenAfterMs: number, timing?: RetryTiming): unknown {
  if (err instanceof PolicyApiError) {
    const cap = Math.max(MAX_RETRY_AFTER_MS, timing?.maximumIntervalMs ?? 0);
    return ApplicationFailure.create({
      message: err.message,
      type: `PolicyApiError.${err.kind}`,
      nonRetryable: !err.retryable,
      nextRetryDelay: err.retryAfterMs === undefined ? undefined : Math.min(err.retryAfterMs, cap),
      details: [{ step: err.step, kind: err.kind, httpStatus: err.httpStatus ?? null }],
    });
  }
  if (err instanceof BrokenCircuitError) {
    return ApplicationFailure.create({
      message: 'policy API circuit breaker is open after repeated failures; not calling the API',
      type: 'PolicyApiError.circuit_open',
      nonRetryable: false,
      nextRetryDelay: Math.max(halfOpenAfterMs, timing?.backoffMs ?? 0),
    });
  }
  if (err instanceof WarehouseBusyError) {
    return ApplicationFailure.create({ message: err.message, type: 'WarehouseBusy', nonRetryable: false });
  }
  // The adapter classified it and already dropped a broken session: the retry policy retries.
  if (err instanceof WarehouseUnavailableError) {
    return ApplicationFailure.create({
      message: err.message,
      type: 'WarehouseUnavailable',
      nonRetryable: false,
    });
  }
  // SQL, authentication, permissions, a missing object: retrying cannot help; the message names the setting.
  if (err instanceof WarehouseConfigError) {
    return ApplicationFailure.create({
      message: err.message,
      type: 'WarehouseConfigError',
      nonRetryable: true,
    });
  }
  return err;
}
