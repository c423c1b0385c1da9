/**
 * The policy API client's contract. Activities depend on this; src/policy-api/client.ts implements it
 * with undici (errors.ts, redact.ts and endpoints.ts beside it).
 */
import type { PolicyData } from '../policy/input';
import type { JsonValue } from '../policy/state';

export type ApiStep = 'create_policy' | 'poll_status' | 'circuit_breaker';

/** Which endpoints to call: the policy API's own, or the usage guide's httpbin stand-ins. */
export type EndpointProfile = 'policy' | 'httpbin';

export interface CreatePolicyResult {
  policyId: string;
  /** The execution id the API reported, if any. */
  executionId: string | null;
  status: string | null;
  message: string | null;
  raw: JsonValue;
}

export interface PolicyStatusResult {
  policyId: string | null;
  status: string;
  message: string | null;
  raw: JsonValue;
}

export interface CircuitBreakerRequest {
  policy_id: string;
  execution_id: string;
  trigger_reason: string;
  timestamp: string;
}

export interface CircuitBreakerResult {
  circuitBreakerId: string | null;
  status: string | null;
  message: string | null;
  raw: JsonValue;
}

export interface PolicyApi {
  createPolicy(
    policy: PolicyData,
    opts: { idempotencyKey: string; executionId: string },
  ): Promise<CreatePolicyResult>;
  getPolicyStatus(policyId: string): Promise<PolicyStatusResult>;
  triggerCircuitBreaker(
    req: CircuitBreakerRequest,
    opts: { idempotencyKey: string },
  ): Promise<CircuitBreakerResult>;
  close(): Promise<void>;
}

export type ApiErrorKind =
  | 'network'
  | 'timeout'
  | 'http'
  | 'invalid_json'
  | 'invalid_response'
  | 'too_large'
  | 'circuit_open';

/** Every failure of a policy API call, classified once (docs/design.md, decision 4). */
export class PolicyApiError extends Error {
  readonly step: ApiStep;
  readonly kind: ApiErrorKind;
  readonly retryable: boolean;
  readonly httpStatus: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly bodyExcerpt: string | undefined;

  constructor(args: {
    step: ApiStep;
    kind: ApiErrorKind;
    retryable: boolean;
    message: string;
    httpStatus?: number;
    retryAfterMs?: number;
    bodyExcerpt?: string;
    cause?: unknown;
  }) {
    super(args.message, args.cause === undefined ? undefined : { cause: args.cause });
    this.name = 'PolicyApiError';
    this.step = args.step;
    this.kind = args.kind;
    this.retryable = args.retryable;
    this.httpStatus = args.httpStatus;
    this.retryAfterMs = args.retryAfterMs;
    this.bodyExcerpt = args.bodyExcerpt;
  }
}
