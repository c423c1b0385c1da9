/**
 * What an execution shows in the Temporal Web UI, as text: its one-line static summary (policy name,
 * type, priority), its static details in Markdown (the policy, the options, where its state row
 * lives) set by whoever starts it, and its current details (step, poll n of max, last API status,
 * error) that the workflow keeps up to date. Pure: the client library, the dispatcher, the CLI's
 * schedules and the workflow itself render with these functions (docs/operations.md#the-web-ui).
 */
import { STEP_LABELS, type JsonValue, type StateEvent, type StateRow, type Step } from './state';
import { validateOptions, validatePolicy, type ExecutionOptions, type PolicyData } from './input';

/** Longest one-line summary (the Web UI shows one line). */
const MAX_SUMMARY_CHARS = 200;
/** Longest policy JSON quoted in the static details. */
const MAX_POLICY_JSON_CHARS = 4000;
/** Longest error or API status quoted in the current details. */
const MAX_QUOTE_CHARS = 500;

/** One line, no Markdown emphasis or code marks of its own, at most `max` characters. */
function plain(text: string, max: number): string {
  const line = text.replace(/[\r\n\t]+/g, ' ').replace(/[`*_[\]<>|#]/g, (c) => `\\${c}`);
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

/** Inline code that survives backticks in the text. */
function code(text: string, max = MAX_QUOTE_CHARS): string {
  const line = text.replace(/[\r\n\t]+/g, ' ');
  const cut = line.length <= max ? line : `${line.slice(0, max - 1)}…`;
  const fence = cut.includes('`') ? '`` ' : '`';
  return `${fence}${cut}${fence === '`` ' ? ' ``' : '`'}`;
}

/** One line of at most `max` characters, as it is (the Web UI's list shows summaries as text). */
function oneLine(text: string, max: number): string {
  const line = text.replace(/[\r\n\t]+/g, ' ');
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

/** `sample_policy · data_governance · priority high` */
export function executionSummary(
  policy: Pick<PolicyData, 'policy_name' | 'policy_type' | 'priority'>,
): string {
  return oneLine(
    `${policy.policy_name} · ${policy.policy_type} · priority ${policy.priority}`,
    MAX_SUMMARY_CHARS,
  );
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** The options in words, defaults included. */
function describeOptions(o: ExecutionOptions): string[] {
  return [
    `- polls: at most ${o.maxPolls}, ${seconds(o.pollIntervalMs)} apart`,
    `- API retries: ${o.retry.maximumAttempts} attempts, ${seconds(o.retry.initialIntervalMs)} doubling to ${seconds(o.retry.maximumIntervalMs)}`,
    `- model refresh at the end: ${o.refreshModel ? 'yes' : 'no'}`,
    ...(o.executionId ? [`- execution id: ${code(o.executionId)}`] : []),
  ];
}

export interface StaticDetailsInput {
  policy: PolicyData;
  /** The workflow's second argument, as given (defaults are filled in here). */
  options?: unknown;
  /** The execution id (the workflow id unless options.executionId says otherwise); null: not known yet. */
  executionId: string | null;
  /** Who started it: `cli`, `bulk`, `dispatcher`, `schedule`. */
  trigger: string;
  /** Where the state table is, when the starter knows (e.g. `duckdb .local/warehouse.duckdb`). */
  warehouse?: string;
}

/** The static details (Markdown): the policy, the options, where the state row lives. */
export function executionDetails(input: StaticDetailsInput): string {
  const { policy } = input;
  const options = validateOptions(input.options);
  const id = (options.ok && options.value.executionId) || input.executionId;
  const json = JSON.stringify(policy, null, 2);
  const quoted = json.length <= MAX_POLICY_JSON_CHARS ? json : `${json.slice(0, MAX_POLICY_JSON_CHARS)}\n…`;
  const row = id
    ? `\`policy_execution_state\` where \`execution_id\` = ${code(id)}`
    : '`policy_execution_state`, keyed by the execution id (the workflow id of each run)';
  return [
    `**Policy** ${code(policy.policy_name)}: type ${code(policy.policy_type)}, priority **${policy.priority}**, created by ${code(policy.created_by)}`,
    ...(policy.description ? ['', plain(policy.description, MAX_QUOTE_CHARS)] : []),
    '',
    '**Options**',
    ...(options.ok
      ? describeOptions(options.value)
      : [`- invalid: ${plain(options.message, MAX_QUOTE_CHARS)}`]),
    '',
    '**State row**',
    `- ${row}${input.warehouse ? ` (${plain(input.warehouse, MAX_QUOTE_CHARS)})` : ''}`,
    id
      ? `- read it: \`bin/policy-execution status ${id}\`, or the workflow's \`state\` query`
      : "- read it: `bin/policy-execution status <workflow id>`, or the workflow's `state` query",
    '',
    `**Started by** ${plain(input.trigger, 64)}`,
    '',
    '```json',
    quoted.replace(/```/g, '`\u200b``'),
    '```',
  ].join('\n');
}

/**
 * The static summary and details of a start, for the start options (`staticSummary`,
 * `staticDetails`). The policy is checked here too: a start of an invalid one (the dispatcher starts
 * what dbt queued; the workflow refuses it) says so.
 */
export function startMetadata(input: Omit<StaticDetailsInput, 'policy'> & { policy: unknown }): {
  staticSummary: string;
  staticDetails: string;
} {
  const policy = validatePolicy(input.policy);
  if (!policy.ok) {
    const why = `invalid input: ${policy.message}`;
    return {
      staticSummary: oneLine(why, MAX_SUMMARY_CHARS),
      staticDetails: `**${plain(why, MAX_QUOTE_CHARS)}**\n\nThe execution ends at once in an \`error\` row.`,
    };
  }
  return {
    staticSummary: executionSummary(policy.value),
    staticDetails: executionDetails({ ...input, policy: policy.value }),
  };
}

/** What the current details are rendered from: the row, and what the workflow knows besides. */
export interface CurrentDetailsInput {
  row: Pick<
    StateRow,
    | 'status'
    | 'poll_count'
    | 'policy_id'
    | 'error_message'
    | 'policy_status_response'
    | 'updated_at'
    | 'state_version'
  >;
  /** The execution's maxPolls (null when its options were invalid). */
  maxPolls: number | null;
  /** The event that produced the row, if any. */
  event?: StateEvent;
}

/** The step an execution in `status` is at (null: it ended). */
export const STEP_OF_STATUS: Record<StateRow['status'], Step | null> = {
  pending: 'create_policy',
  policy_created: 'poll_status',
  policy_ready: 'circuit_breaker',
  completed: null,
  error: null,
};

/** The policy API's last status text: the polled event's, else the `status` of the stored response. */
function lastApiStatus(input: CurrentDetailsInput): string | null {
  if (input.event?.type === 'polled') return input.event.statusText;
  const r: JsonValue | null = input.row.policy_status_response;
  if (r !== null && typeof r === 'object' && !Array.isArray(r) && typeof r.status === 'string')
    return r.status;
  return null;
}

/** The current details (Markdown): step, poll n of max, last API status, error. */
export function renderCurrentDetails(input: CurrentDetailsInput): string {
  const { row } = input;
  const step = STEP_OF_STATUS[row.status];
  const polls = input.maxPolls === null ? `${row.poll_count}` : `${row.poll_count} of ${input.maxPolls}`;
  const lines = [
    row.status === 'completed'
      ? '**Completed**: policy created, ready, circuit breaker triggered'
      : row.status === 'error'
        ? '**Failed**'
        : `**Step**: ${step ? STEP_LABELS[step] : row.status}`,
    `**Status**: \`${row.status}\` · polls ${polls}`,
  ];
  const api = lastApiStatus(input);
  if (api !== null) lines.push(`**Last API status**: ${code(api)}`);
  if (row.policy_id) lines.push(`**Policy id**: ${code(row.policy_id)}`);
  if (row.error_message) lines.push(`**Error**: ${code(row.error_message)}`);
  lines.push(`_state version ${row.state_version}, ${row.updated_at}_`);
  return lines.join('\n\n');
}
