/**
 * One-line summaries of the commands a workflow schedules (activities, timers), shown on the
 * Web UI's event history and timeline. Pure and sandbox-safe: the workflow interceptors
 * (interceptors.ts) add them to commands that have none.
 */
import { DBT_REFRESH_WORKFLOW_TYPE, WORKFLOW_TYPE } from '../../contracts';

const MAX = 150;

function cut(text: string): string {
  const line = text.replace(/[\r\n\t]+/g, ' ');
  return line.length <= MAX ? line : `${line.slice(0, MAX - 1)}…`;
}

function field(arg: unknown, ...path: string[]): unknown {
  let v: unknown = arg;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

function text(v: unknown): string {
  return typeof v === 'string' || typeof v === 'number' ? String(v) : '?';
}

/** The summary of an activity call, by its type and its (first) argument; undefined: none. */
export function activitySummary(activityType: string, args: readonly unknown[]): string | undefined {
  const arg = args[0];
  switch (activityType) {
    case 'createPolicy':
      return cut(`POST /createpolicy · ${text(field(arg, 'policy', 'policy_name'))}`);
    case 'getPolicyStatus':
      return cut(`GET /policy/${text(field(arg, 'policyId'))}`);
    case 'triggerCircuitBreaker':
      return cut(
        `POST /circuit · ${text(field(arg, 'request', 'policy_id'))}` +
          (field(arg, 'finish') === undefined ? '' : ', then the final state row'),
      );
    case 'recordState':
      return cut(`state row v${text(field(arg, 'state_version'))} → ${text(field(arg, 'status'))}`);
    case 'finishExecution':
      return cut(
        `final state row v${text(field(arg, 'row', 'state_version'))} → ${text(field(arg, 'row', 'status'))}` +
          (field(arg, 'refresh') === true ? ', then ask for a model refresh' : ''),
      );
    case 'requestModelRefresh':
      return 'ask for a refresh of policy_execution_model';
    case 'runModelRefresh':
      return cut(`dbt run policy_execution_model · ${text(field(arg, 'requests'))} asks`);
    default:
      return undefined;
  }
}

function duration(ms: number): string {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** The summary of a timer in a workflow of `workflowType`; undefined: none. */
export function timerSummary(workflowType: string, durationMs: number): string | undefined {
  if (workflowType === WORKFLOW_TYPE) return `wait ${duration(durationMs)} before the next status poll`;
  if (workflowType === DBT_REFRESH_WORKFLOW_TYPE)
    return `wait ${duration(durationMs)} for more refresh asks (or after a failed refresh)`;
  return undefined;
}
