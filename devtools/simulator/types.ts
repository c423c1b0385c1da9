/**
 * Types and input validation for the policy API simulator. Stand-alone: the simulator imports nothing
 * from `src/` (it is a fake of an external system).
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export const FAULT_KINDS = [
  'http500',
  'http503',
  'http429',
  'hang',
  'malformed_json',
  'reset',
  'oversize',
  'raw_body',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const FAULT_TARGETS = ['create', 'status', 'circuit', 'any'] as const;
export type FaultTarget = (typeof FAULT_TARGETS)[number];

export interface Fault {
  /** Which requests the fault applies to. */
  on: FaultTarget;
  kind: FaultKind;
  /** How many matching requests it hits; default 1; -1 = forever. */
  times?: number;
  /** For http429 (default 1) and http503 (no header unless given): the `Retry-After` header. */
  retryAfterSeconds?: number;
  /** For oversize: response size in bytes (default 2 MiB). */
  bytes?: number;
  /**
   * For raw_body: the exact response text (sent as application/json, even when it is not JSON), so
   * a test can answer with duplicate keys, wrong types, missing fields or non-objects. Every
   * `{{authorization}}` in it is replaced by the request's Authorization header: an API that
   * reflects credentials back.
   */
  body?: string;
  /** For raw_body: the HTTP status (default 200). */
  status?: number;
  /**
   * Process the request first (create the policy, trigger the breaker, store the idempotent
   * response), then deliver the fault instead of the real answer: "the server did it, the client
   * never heard". Default false: the fault replaces processing.
   */
  afterCommit?: boolean;
}

export interface PolicyScript {
  /** The n-th status GET returns statuses[n]; the last repeats. Default ["success"]. */
  statuses?: string[];
  /** Delay before answering, in ms. */
  latencyMs?: number;
  /** Consumed in order as matching requests arrive. */
  faults?: Fault[];
  /**
   * Create answers with this policy_id (and registers the policy under it) instead of the request's
   * expected_policy_id: for hostile ids the usage guide's input rules would not let through.
   */
  assignPolicyId?: string;
}

export type DownMode = 'reset' | '503';

export interface ChaosConfig {
  /** Probability in [0, 1] that an API request gets `kind`. */
  failureRate: number;
  kind: FaultKind;
  /** PRNG seed; default 1 (deterministic). */
  seed?: number;
  /** Probability in [0, 1] that an API request is delayed by an extra `spikeMs` (a latency spike). */
  spikeRate?: number;
  /** Extra delay of a spike, in ms (default 1000). */
  spikeMs?: number;
}

/** What a request was, as the simulator routed it. */
export type RequestOp =
  | 'create'
  | 'status'
  | 'circuit'
  | 'httpbin_post'
  | 'httpbin_get'
  | 'health'
  | 'unknown';

export interface RequestLogEntry {
  seq: number;
  /** ISO time the request (headers and body) arrived. */
  at: string;
  method: string;
  /** Path as received (still URL-encoded), without the query string. */
  path: string;
  /** Raw query string without `?`, or null. */
  query: string | null;
  op: RequestOp;
  /** Decoded policy id when known (path, expected_policy_id, policy_id, or the id the API assigned). */
  policyId: string | null;
  idempotencyKey: string | null;
  /** Whether an Authorization header was present. */
  authorization: boolean;
  /** The raw Authorization header value (so tests can check the token arrived), or null. */
  authorizationHeader: string | null;
  /** The W3C trace context header (`traceparent`) the request carried, or null. */
  traceparent: string | null;
  /** Parsed JSON body, or the raw string when it is not JSON, or null when empty / too large. */
  body: JsonValue;
  /** HTTP status sent; null for hang / reset (or while still pending). */
  responseStatus: number | null;
  /** The fault delivered ('down' for the down switch), or null. */
  fault: FaultKind | 'down' | null;
  /** True when the answer was a stored idempotent response. */
  replayed: boolean;
  /**
   * True when this request's side effect happened here: the create that created the policy, or the
   * circuit request that triggered the breaker (idempotent replays and faulted requests excluded,
   * `afterCommit` faults included). The chaos suite counts duplicates with it.
   */
  committed: boolean;
}

export interface PolicyCounters {
  /** Creates actually processed for this id (idempotent replays excluded). */
  creates: number;
  createRequests: number;
  statusRequests: number;
  circuitRequests: number;
  /** Circuit breakers actually triggered (idempotent replays excluded). */
  circuitTriggers: number;
}

export interface SimulatorStats extends PolicyCounters {
  /** Global `creates` = number of distinct policies created. */
  idempotentReplays: number;
  httpbinRequests: number;
  faultsInjected: number;
  /** Counters per policy id. */
  perPolicy: Record<string, PolicyCounters>;
}

/** The handle `startSimulator` returns. */
export interface Simulator {
  url: string;
  port: number;
  scriptPolicy(id: string, script: PolicyScript): void;
  setDefaultScript(s: PolicyScript): void;
  setGlobalFaults(f: Fault[]): void;
  setDown(down: boolean, mode?: DownMode): void;
  setChaos(c: ChaosConfig | null): void;
  requests(filter?: { policyId?: string }): RequestLogEntry[];
  stats(): SimulatorStats;
  reset(): void;
  close(): Promise<void>;
}

export class ValidationError extends Error {
  override name = 'ValidationError';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function nonNegativeNumber(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new ValidationError(`${what} must be a non-negative number`);
  }
  return v;
}

export function parseFault(v: unknown, where = 'fault'): Fault {
  if (!isRecord(v)) throw new ValidationError(`${where} must be an object`);
  const on = v.on ?? 'any';
  if (typeof on !== 'string' || !(FAULT_TARGETS as readonly string[]).includes(on)) {
    throw new ValidationError(`${where}.on must be one of ${FAULT_TARGETS.join(', ')}`);
  }
  const kind = v.kind;
  if (typeof kind !== 'string' || !(FAULT_KINDS as readonly string[]).includes(kind)) {
    throw new ValidationError(`${where}.kind must be one of ${FAULT_KINDS.join(', ')}`);
  }
  const fault: Fault = { on: on as FaultTarget, kind: kind as FaultKind };
  if (v.times !== undefined) {
    if (typeof v.times !== 'number' || !Number.isInteger(v.times) || v.times < -1) {
      throw new ValidationError(`${where}.times must be an integer >= -1`);
    }
    fault.times = v.times;
  }
  if (v.retryAfterSeconds !== undefined) {
    fault.retryAfterSeconds = nonNegativeNumber(v.retryAfterSeconds, `${where}.retryAfterSeconds`);
  }
  if (v.bytes !== undefined) fault.bytes = nonNegativeNumber(v.bytes, `${where}.bytes`);
  if (v.body !== undefined) {
    if (typeof v.body !== 'string') throw new ValidationError(`${where}.body must be a string`);
    fault.body = v.body;
  }
  if (v.status !== undefined) {
    if (typeof v.status !== 'number' || !Number.isInteger(v.status) || v.status < 200 || v.status > 599) {
      throw new ValidationError(`${where}.status must be an HTTP status between 200 and 599`);
    }
    fault.status = v.status;
  }
  if (kind === 'raw_body' && fault.body === undefined) {
    throw new ValidationError(`${where}.body is required for raw_body`);
  }
  if (v.afterCommit !== undefined) {
    if (typeof v.afterCommit !== 'boolean')
      throw new ValidationError(`${where}.afterCommit must be a boolean`);
    fault.afterCommit = v.afterCommit;
  }
  return fault;
}

export function parseFaults(v: unknown, where = 'faults'): Fault[] {
  if (!Array.isArray(v)) throw new ValidationError(`${where} must be an array`);
  return v.map((f, i) => parseFault(f, `${where}[${i}]`));
}

export function parseScript(v: unknown): PolicyScript {
  if (!isRecord(v)) throw new ValidationError('script must be an object');
  const script: PolicyScript = {};
  if (v.statuses !== undefined) {
    if (
      !Array.isArray(v.statuses) ||
      v.statuses.length === 0 ||
      !v.statuses.every((s): s is string => typeof s === 'string')
    ) {
      throw new ValidationError('statuses must be a non-empty array of strings');
    }
    script.statuses = [...v.statuses];
  }
  if (v.latencyMs !== undefined) script.latencyMs = nonNegativeNumber(v.latencyMs, 'latencyMs');
  if (v.faults !== undefined) script.faults = parseFaults(v.faults);
  if (v.assignPolicyId !== undefined) {
    if (typeof v.assignPolicyId !== 'string' || v.assignPolicyId.length === 0) {
      throw new ValidationError('assignPolicyId must be a non-empty string');
    }
    script.assignPolicyId = v.assignPolicyId;
  }
  return script;
}

export function parseChaos(v: unknown): ChaosConfig | null {
  if (v === null) return null;
  if (!isRecord(v)) throw new ValidationError('chaos must be an object or null');
  const failureRate = v.failureRate;
  if (typeof failureRate !== 'number' || !(failureRate >= 0 && failureRate <= 1)) {
    throw new ValidationError('failureRate must be a number in [0, 1]');
  }
  const kind = v.kind ?? 'http500';
  if (typeof kind !== 'string' || !(FAULT_KINDS as readonly string[]).includes(kind)) {
    throw new ValidationError(`kind must be one of ${FAULT_KINDS.join(', ')}`);
  }
  const chaos: ChaosConfig = { failureRate, kind: kind as FaultKind };
  if (v.spikeRate !== undefined) {
    if (typeof v.spikeRate !== 'number' || !(v.spikeRate >= 0 && v.spikeRate <= 1)) {
      throw new ValidationError('spikeRate must be a number in [0, 1]');
    }
    chaos.spikeRate = v.spikeRate;
  }
  if (v.spikeMs !== undefined) chaos.spikeMs = nonNegativeNumber(v.spikeMs, 'spikeMs');
  if (v.seed !== undefined) {
    if (typeof v.seed !== 'number' || !Number.isFinite(v.seed))
      throw new ValidationError('seed must be a number');
    chaos.seed = v.seed;
  }
  return chaos;
}

export function parseDown(v: unknown): { down: boolean; mode: DownMode } {
  if (!isRecord(v) || typeof v.down !== 'boolean')
    throw new ValidationError('body must be { down: boolean }');
  const mode = v.mode ?? 'reset';
  if (mode !== 'reset' && mode !== '503') throw new ValidationError('mode must be "reset" or "503"');
  return { down: v.down, mode };
}
