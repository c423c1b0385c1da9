/**
 * The policy_execution_state row and its reducer. Pure and deterministic: the workflow holds the row
 * in memory, advances it with `transition`, and an activity upserts it after each transition.
 * Every transition bumps `state_version`; the warehouse only applies an upsert that `supersedes` the
 * stored row, so activity retries and reordering can never move a row backwards, and a later run of
 * the same execution (a reset, a re-run) replaces an earlier one (docs/design.md, decisions 1 and 18).
 */
import type { ExecutionStatus } from './status';

/** JSON values stored in the VARIANT / JSON columns. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * One row of policy_execution_state. The first 16 fields are the usage guide's schema, same names,
 * same meanings; the others are ours (docs/design.md, decisions 1 and 18). Timestamps are ISO-8601
 * strings in UTC.
 */
export interface StateRow {
  execution_id: string;
  policy_id: string | null;
  poll_count: number;
  status: ExecutionStatus;
  start_time: string;
  last_poll_time: string | null;
  completed: boolean;
  requires_circuit_breaker: boolean;
  circuit_breaker_initiated: boolean;
  circuit_breaker_completed: boolean;
  error_message: string | null;
  message: string | null;
  api_response: JsonValue | null;
  policy_data: JsonValue | null;
  policy_status_response: JsonValue | null;
  circuit_breaker_response: JsonValue | null;
  // --- additions (docs/design.md, decision 1) ---
  workflow_id: string;
  state_version: number;
  updated_at: string;
  /** The Temporal run that wrote the row (null in rows written before runs were recorded). */
  run_id: string | null;
}

/** Column order used by every warehouse adapter. */
export const STATE_COLUMNS = [
  'execution_id',
  'policy_id',
  'poll_count',
  'status',
  'start_time',
  'last_poll_time',
  'completed',
  'requires_circuit_breaker',
  'circuit_breaker_initiated',
  'circuit_breaker_completed',
  'error_message',
  'message',
  'api_response',
  'policy_data',
  'policy_status_response',
  'circuit_breaker_response',
  'workflow_id',
  'state_version',
  'updated_at',
  'run_id',
] as const satisfies readonly (keyof StateRow)[];

export const JSON_COLUMNS = [
  'api_response',
  'policy_data',
  'policy_status_response',
  'circuit_breaker_response',
] as const satisfies readonly (keyof StateRow)[];

export type Step = 'input' | 'create_policy' | 'poll_status' | 'circuit_breaker';

export const STEP_LABELS: Record<Step, string> = {
  input: 'validate input',
  create_policy: 'create policy',
  poll_status: 'poll policy status',
  circuit_breaker: 'trigger circuit breaker',
};

export type StateEvent =
  | { type: 'policy_created'; at: string; policyId: string; response: JsonValue }
  | { type: 'polled'; at: string; ready: boolean; statusText: string; response: JsonValue }
  | { type: 'circuit_breaker_initiated'; at: string }
  | { type: 'circuit_breaker_completed'; at: string; response: JsonValue }
  | { type: 'failed'; at: string; step: Step; error: string };

export function initialState(args: {
  executionId: string;
  workflowId: string;
  /** The Temporal run writing the row; null outside Temporal. */
  runId?: string | null;
  policy: JsonValue | null;
  at: string;
}): StateRow {
  return {
    execution_id: args.executionId,
    policy_id: null,
    poll_count: 0,
    status: 'pending',
    start_time: args.at,
    last_poll_time: null,
    completed: false,
    requires_circuit_breaker: false,
    circuit_breaker_initiated: false,
    circuit_breaker_completed: false,
    error_message: null,
    message: 'Execution started',
    api_response: null,
    policy_data: args.policy,
    policy_status_response: null,
    circuit_breaker_response: null,
    workflow_id: args.workflowId,
    state_version: 1,
    updated_at: args.at,
    run_id: args.runId ?? null,
  };
}

/**
 * Whether `incoming` may replace `stored` (both rows of one execution_id); the warehouse applies
 * only writes for which this holds (the SQL form is in src/warehouse/guard.ts). Runs first, version
 * second:
 *   - the same run (or a row that does not say which run wrote it): the higher state_version wins;
 *   - different runs: the later write wins, by updated_at (the workflow's own clock). Temporal runs
 *     one run of a workflow id at a time, so every write of a later run (a reset, a re-run of the
 *     same id) comes after every write of the run it replaced: its rows supersede the earlier run's,
 *     whatever their versions, and a late write of the earlier run can never overwrite them. (A
 *     run's start time cannot order them: a run reset to a mid-point keeps the original's.)
 */
export function supersedes(
  incoming: Pick<StateRow, 'run_id' | 'state_version' | 'updated_at'>,
  stored: Pick<StateRow, 'run_id' | 'state_version' | 'updated_at'>,
): boolean {
  if (incoming.run_id === null || stored.run_id === null || incoming.run_id === stored.run_id)
    return incoming.state_version > stored.state_version;
  return Date.parse(incoming.updated_at) > Date.parse(stored.updated_at);
}

export class InvalidTransitionError extends Error {
  constructor(from: ExecutionStatus, event: StateEvent['type']) {
    super(`invalid state transition: ${event} from status '${from}'`);
    this.name = 'InvalidTransitionError';
  }
}

/** Which events each status accepts. Terminal statuses accept none. */
const ALLOWED: Record<ExecutionStatus, readonly StateEvent['type'][]> = {
  pending: ['policy_created', 'failed'],
  policy_created: ['polled', 'failed'],
  policy_ready: ['circuit_breaker_initiated', 'circuit_breaker_completed', 'failed'],
  completed: [],
  error: [],
};

export function transition(row: StateRow, event: StateEvent): StateRow {
  if (!ALLOWED[row.status].includes(event.type)) throw new InvalidTransitionError(row.status, event.type);
  const next: StateRow = { ...row, state_version: row.state_version + 1, updated_at: event.at };
  switch (event.type) {
    case 'policy_created':
      return {
        ...next,
        status: 'policy_created',
        policy_id: event.policyId,
        api_response: event.response,
        message: 'Policy created successfully',
      };
    case 'polled': {
      const polled = {
        ...next,
        poll_count: row.poll_count + 1,
        last_poll_time: event.at,
        policy_status_response: event.response,
      };
      return event.ready
        ? {
            ...polled,
            status: 'policy_ready',
            requires_circuit_breaker: true,
            message: 'Policy is ready for circuit breaker',
          }
        : { ...polled, message: `Policy status '${event.statusText}' after poll ${polled.poll_count}` };
    }
    case 'circuit_breaker_initiated':
      return { ...next, circuit_breaker_initiated: true, message: 'Circuit breaker trigger sent' };
    case 'circuit_breaker_completed':
      return {
        ...next,
        status: 'completed',
        completed: true,
        circuit_breaker_initiated: true,
        circuit_breaker_completed: true,
        circuit_breaker_response: event.response,
        message: 'Circuit breaker initiated successfully',
      };
    case 'failed':
      return {
        ...next,
        status: 'error',
        error_message: `${STEP_LABELS[event.step]}: ${event.error}`,
        message: `Execution failed at step '${STEP_LABELS[event.step]}'`,
      };
  }
}

/** Error text for a poll loop that ended without a ready status. */
export function notReadyMessage(polls: number, lastStatus: string, intervalMs: number): string {
  return `policy not ready after ${polls} poll${polls === 1 ? '' : 's'} (${intervalMs} ms apart); last status '${lastStatus}'`;
}

/** Error text for a status the API reported as failed. */
export function failedStatusMessage(status: string, apiMessage: string | null): string {
  return `policy API reported status '${status}'${apiMessage ? `: ${apiMessage}` : ''}`;
}
