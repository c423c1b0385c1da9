/**
 * The endpoint profiles: which URL and body each call sends, and how each response is validated and
 * mapped onto the result types. `policy` is the policy API's own endpoints (POST /createpolicy,
 * GET /policy/{id}, POST /circuit); `httpbin` is the usage guide's stand-ins (POST /post, GET /get).
 */
import type { PolicyData } from '../policy/input';
import type { JsonValue } from '../policy/state';
import type { PolicyApiErrors } from './errors';
import { excerpt } from './redact';
import type {
  ApiStep,
  CircuitBreakerRequest,
  CircuitBreakerResult,
  CreatePolicyResult,
  EndpointProfile,
  PolicyStatusResult,
} from './types';

/**
 * Longest policy id accepted from the API. The workflow makes it a search attribute (PolicyId); a
 * 3000-character id exceeded Temporal's search attribute size limit and the server terminated the
 * execution before it could record an error (found by the chaos suite, scenario hostile-responses).
 */
export const MAX_POLICY_ID_CHARS = 256;

/** One request as the client sends it. */
export interface ApiRequest {
  method: 'GET' | 'POST';
  url: string;
  body?: string;
  idempotencyKey?: string;
}

/** A 2xx response as the client hands it over: parsed (and cleaned) JSON plus the raw text. */
export interface ApiResponse {
  status: number;
  json: JsonValue;
  raw: string;
}

/** One call: its step (for errors), the request it sends, and how its response becomes a result. */
export interface Endpoint<Args extends unknown[], Result> {
  step: ApiStep;
  /** May throw a PolicyApiError for arguments that cannot be sent. */
  request(...args: Args): ApiRequest;
  /** Throws a PolicyApiError (invalid_response) when the response lacks what the result needs. */
  result(res: ApiResponse, ...args: Args): Result;
}

export type CreatePolicyOptions = { idempotencyKey: string; executionId: string };

export interface Endpoints {
  createPolicy: Endpoint<[policy: PolicyData, opts: CreatePolicyOptions], CreatePolicyResult>;
  getPolicyStatus: Endpoint<[policyId: string], PolicyStatusResult>;
  triggerCircuitBreaker: Endpoint<
    [req: CircuitBreakerRequest, opts: { idempotencyKey: string }],
    CircuitBreakerResult
  >;
}

/** `profile` checked (it may come from untyped config), undefined meaning `policy`. */
export function checkProfile(profile: EndpointProfile | undefined): EndpointProfile {
  const checked: EndpointProfile = profile ?? 'policy';
  if (checked !== 'policy' && checked !== 'httpbin') {
    throw new Error(`policy API profile must be 'policy' or 'httpbin', got ${excerpt(String(checked))}`);
  }
  return checked;
}

/** http(s) origin plus path prefix, no trailing slash; no credentials, query or fragment. */
export function normalizeBaseUrl(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new Error(`policy API base URL is not a valid URL: ${excerpt(baseUrl)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`policy API base URL must be http or https, got ${url.protocol}`);
  }
  if (url.username || url.password) throw new Error('policy API base URL must not contain credentials');
  if (url.search || url.hash) throw new Error('policy API base URL must not have a query or fragment');
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** The endpoints of `profile` under `base` (already normalized). */
export function createEndpoints(profile: EndpointProfile, base: string, errors: PolicyApiErrors): Endpoints {
  return profile === 'httpbin' ? httpbinEndpoints(base, errors) : policyEndpoints(base, errors);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function optString(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

const createPolicyRequest = (url: string, policy: PolicyData, opts: CreatePolicyOptions): ApiRequest => ({
  method: 'POST',
  url,
  body: JSON.stringify({ ...policy, execution_id: opts.executionId }),
  idempotencyKey: opts.idempotencyKey,
});

const circuitBreakerRequest = (
  url: string,
  req: CircuitBreakerRequest,
  opts: { idempotencyKey: string },
): ApiRequest => ({ method: 'POST', url, body: JSON.stringify(req), idempotencyKey: opts.idempotencyKey });

/** The response object, or its object-valued `field`; invalid_response otherwise. */
function requireObject(
  errors: PolicyApiErrors,
  step: ApiStep,
  res: ApiResponse,
  field?: string,
): Record<string, unknown> {
  const obj = field === undefined ? res.json : isObject(res.json) ? res.json[field] : undefined;
  if (!isObject(res.json)) {
    throw errors.invalidResponse(step, res.status, res.raw, 'response is not a JSON object');
  }
  if (!isObject(obj)) {
    throw errors.invalidResponse(step, res.status, res.raw, `response lacks required field '${field ?? ''}'`);
  }
  return obj;
}

function policyEndpoints(base: string, errors: PolicyApiErrors): Endpoints {
  return {
    createPolicy: {
      step: 'create_policy',
      request: (policy, opts) => createPolicyRequest(`${base}/createpolicy`, policy, opts),
      result(res) {
        const obj = requireObject(errors, 'create_policy', res);
        const policyId = obj.policy_id;
        if (typeof policyId !== 'string' || policyId.length === 0) {
          throw errors.invalidResponse(
            'create_policy',
            res.status,
            res.raw,
            `response lacks required field 'policy_id'`,
          );
        }
        if (policyId.length > MAX_POLICY_ID_CHARS) {
          // It becomes a search attribute; one over Temporal's size limit got the execution terminated.
          throw errors.invalidResponse(
            'create_policy',
            res.status,
            res.raw,
            `response field 'policy_id' is longer than ${MAX_POLICY_ID_CHARS} characters`,
          );
        }
        return {
          policyId,
          executionId: optString(obj.execution_id),
          status: optString(obj.status),
          message: optString(obj.message),
          raw: res.json,
        };
      },
    },

    getPolicyStatus: {
      step: 'poll_status',
      request(policyId) {
        if (policyId === '' || policyId === '.' || policyId === '..') {
          // URL parsing would drop or collapse these path segments and address another resource.
          throw errors.invalidRequest(
            'poll_status',
            `policy id ${JSON.stringify(policyId)} cannot be used as a URL path segment`,
          );
        }
        return { method: 'GET', url: `${base}/policy/${encodeURIComponent(policyId)}` };
      },
      result(res) {
        const obj = requireObject(errors, 'poll_status', res);
        const status = obj.status;
        if (typeof status !== 'string') {
          throw errors.invalidResponse(
            'poll_status',
            res.status,
            res.raw,
            `response lacks required field 'status'`,
          );
        }
        return {
          policyId: optString(obj.policy_id),
          status,
          message: optString(obj.message),
          raw: res.json,
        };
      },
    },

    triggerCircuitBreaker: {
      step: 'circuit_breaker',
      request: (req, opts) => circuitBreakerRequest(`${base}/circuit`, req, opts),
      result(res) {
        const obj = requireObject(errors, 'circuit_breaker', res);
        return {
          circuitBreakerId: optString(obj.circuit_breaker_id),
          status: optString(obj.status),
          message: optString(obj.message),
          raw: res.json,
        };
      },
    },
  };
}

/** httpbin echoes the request: the results are made up from what was sent, as the usage guide does. */
function httpbinEndpoints(base: string, errors: PolicyApiErrors): Endpoints {
  return {
    createPolicy: {
      step: 'create_policy',
      request: (policy, opts) => createPolicyRequest(`${base}/post`, policy, opts),
      result(res, _policy, opts) {
        const sent = requireObject(errors, 'create_policy', res, 'json');
        const expected = sent.expected_policy_id;
        return {
          policyId:
            typeof expected === 'string' && expected.length > 0 ? expected : `httpbin-${opts.idempotencyKey}`,
          executionId: optString(sent.execution_id),
          status: 'created',
          message: 'Policy created successfully',
          raw: res.json,
        };
      },
    },

    getPolicyStatus: {
      step: 'poll_status',
      request: (policyId) => ({
        method: 'GET',
        url: `${base}/get?policy_id=${encodeURIComponent(policyId)}`,
      }),
      result(res) {
        const args = requireObject(errors, 'poll_status', res, 'args');
        return {
          policyId: optString(args.policy_id),
          status: optString(args.status) ?? 'success',
          message: optString(args.message),
          raw: res.json,
        };
      },
    },

    triggerCircuitBreaker: {
      step: 'circuit_breaker',
      request: (req, opts) => circuitBreakerRequest(`${base}/post`, req, opts),
      result(res) {
        const sent = requireObject(errors, 'circuit_breaker', res, 'json');
        const executionId = optString(sent.execution_id);
        return {
          circuitBreakerId: executionId === null ? null : `cb_${executionId}`,
          status: 'initiated',
          message: 'Circuit breaker initiated successfully',
          raw: res.json,
        };
      },
    },
  };
}
