/**
 * The rows an API activity writes itself, besides the row it carries (docs/design.md, decision 21):
 * a pending status poll that another poll follows after a delay writes its own `polled` row, and the
 * circuit breaker writes the terminal `completed` row once the API has answered. The activity
 * returns only the time it stamped on that row (`polledRowAt`, `completedRowAt`); the workflow
 * computes the same row from it with the same events, and the worker's activity interceptor logs it.
 */
import { transition, type JsonValue, type StateEvent, type StateRow } from './state';

/** A status poll's event: the API answered `status` at `at`. */
export function polledEvent(
  at: string,
  status: { status: string; raw: JsonValue },
  ready: boolean,
): StateEvent {
  return { type: 'polled', at, ready, statusText: status.status, response: status.raw };
}

/** The circuit breaker's event: the API accepted the trigger at `at`. */
export function breakerCompletedEvent(at: string, raw: JsonValue): StateEvent {
  return { type: 'circuit_breaker_completed', at, response: raw };
}

function stamp(result: unknown, key: 'polledRowAt' | 'completedRowAt'): string | undefined {
  const at =
    result !== null && typeof result === 'object' ? (result as Record<string, unknown>)[key] : undefined;
  return typeof at === 'string' ? at : undefined;
}

/**
 * The row an API activity wrote itself, from its input (the `state` row it carried, or else the
 * `base` row a status poll was handed) and its result; undefined when it wrote none.
 */
export function ownRowOf(activityType: string, input: unknown, result: unknown): StateRow | undefined {
  const given =
    input !== null && typeof input === 'object' ? (input as { state?: StateRow; base?: StateRow }) : {};
  const state = given.state ?? given.base;
  if (!state) return undefined;
  const answer = result as { status: string; raw: JsonValue };
  if (activityType === 'getPolicyStatus') {
    const at = stamp(result, 'polledRowAt');
    return at === undefined ? undefined : transition(state, polledEvent(at, answer, false));
  }
  if (activityType === 'triggerCircuitBreaker') {
    const at = stamp(result, 'completedRowAt');
    return at === undefined ? undefined : transition(state, breakerCompletedEvent(at, answer.raw));
  }
  return undefined;
}
