/**
 * The policy API client (undici). One request per call, no retries here: Temporal's retry policy
 * retries, driven by the classification on PolicyApiError (design.md §4), which happens in one
 * place: `toPolicyApiError` for transport failures and `httpError` for HTTP statuses.
 */
import { STATUS_CODES } from 'node:http';
import { Agent, request, type Dispatcher } from 'undici';
import type { PolicyData } from '../policy/input';
import type { JsonValue } from '../policy/state';
import {
  PolicyApiError,
  type ApiStep,
  type CircuitBreakerRequest,
  type CircuitBreakerResult,
  type CreatePolicyResult,
  type EndpointProfile,
  type PolicyApi,
  type PolicyStatusResult,
} from './types';

export interface PolicyApiConfig {
  /** e.g. http://127.0.0.1:8787 ; may include a path prefix. */
  baseUrl: string;
  /** 'policy' (default) or 'httpbin' (the usage guide's stand-ins). */
  profile?: EndpointProfile;
  /** Optional bearer token (from the worker's environment only). Never appears in error messages. */
  token?: string;
  /** Overall per-request deadline: connect + headers + body. Default 30 000. */
  timeoutMs?: number;
  /** Response body size cap. Default 1 MiB. */
  maxResponseBytes?: number;
  /** undici dispatcher (tests pass a MockAgent). Default: an undici Agent owned by the client. */
  dispatcher?: Dispatcher;
  userAgent?: string;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
const DEFAULT_USER_AGENT = 'policy-execution/0.1.0';
const EXCERPT_CHARS = 200;
const REDACTED = '[REDACTED]';

const STEP_LABEL: Record<ApiStep, string> = {
  create_policy: 'create policy',
  poll_status: 'poll policy status',
  circuit_breaker: 'trigger circuit breaker',
};

/** HTTP status → retryable? (design.md §4): 408, 429 and 5xx are; everything else is not. */
export function classifyHttpStatus(status: number): { retryable: boolean } {
  return { retryable: status === 408 || status === 429 || (status >= 500 && status <= 599) };
}

/** `Retry-After` (delta-seconds or HTTP-date) in milliseconds from `now`; undefined when absent or invalid. */
export function parseRetryAfter(
  header: string | string[] | undefined,
  now: number = Date.now(),
): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) {
    const ms = Number(value) * 1000;
    return Number.isSafeInteger(ms) ? ms : undefined;
  }
  // An HTTP-date always names a weekday and a month; don't let Date.parse accept e.g. "5.5".
  if (!/[A-Za-z]{3}/.test(value)) return undefined;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

// C0 and C1 controls, DEL, and the Unicode line/paragraph separators.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** A single-line excerpt of at most EXCERPT_CHARS characters, control characters replaced by spaces. */
function excerpt(text: string): string {
  const line = text.replace(CONTROL_CHARS, ' ');
  if (line.length <= EXCERPT_CHARS) return line;
  let cut = line.slice(0, EXCERPT_CHARS - 1);
  // Don't leave half a surrogate pair.
  if (/[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/** A UTF-16 surrogate without its partner. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Longest policy id accepted from the API. The workflow makes it a search attribute (PolicyId); a
 * 3000-character id exceeded Temporal's search attribute size limit and the server terminated the
 * execution before it could record an error (found by the chaos suite, scenario hostile-responses).
 */
export const MAX_POLICY_ID_CHARS = 256;

/** Deepest response nesting accepted; JSON.parse copes with far more, but the rest of the path recurses. */
export const MAX_RESPONSE_DEPTH = 64;

/** Whether a parsed JSON value nests deeper than `max` (iterative: safe at any depth). */
function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: { v: unknown; depth: number }[] = [{ v: value, depth: 0 }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    if (next.v === null || typeof next.v !== 'object') continue;
    if (next.depth >= max) return true;
    for (const child of Object.values(next.v)) stack.push({ v: child, depth: next.depth + 1 });
  }
  return false;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function optString(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function errorCode(err: unknown): string | undefined {
  if (!isObject(err) && !(err instanceof Error)) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
]);
/** Errors that mean our request was malformed: retrying cannot help. */
const NON_RETRYABLE_CODES = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED', 'ERR_INVALID_URL']);

interface HttpResponse {
  status: number;
  json: JsonValue;
  raw: string;
}

interface Endpoints {
  create: string;
  status: (policyId: string) => string;
  circuit: string;
}

function endpoints(profile: EndpointProfile, base: string): Endpoints {
  if (profile === 'httpbin') {
    return {
      create: `${base}/post`,
      status: (id) => `${base}/get?policy_id=${encodeURIComponent(id)}`,
      circuit: `${base}/post`,
    };
  }
  return {
    create: `${base}/createpolicy`,
    status: (id) => `${base}/policy/${encodeURIComponent(id)}`,
    circuit: `${base}/circuit`,
  };
}

function normalizeBaseUrl(baseUrl: string): string {
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

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`policy API ${name} must be a positive integer`);
  return value;
}

export function createPolicyApiClient(config: PolicyApiConfig): PolicyApi {
  const profile: EndpointProfile = config.profile ?? 'policy';
  if (profile !== 'policy' && profile !== 'httpbin') {
    throw new Error(`policy API profile must be 'policy' or 'httpbin', got ${excerpt(String(profile))}`);
  }
  const base = normalizeBaseUrl(config.baseUrl);
  const urls = endpoints(profile, base);
  const timeoutMs = positiveInt('timeoutMs', config.timeoutMs, DEFAULT_TIMEOUT_MS);
  const maxResponseBytes = positiveInt(
    'maxResponseBytes',
    config.maxResponseBytes,
    DEFAULT_MAX_RESPONSE_BYTES,
  );
  const token = config.token === undefined || config.token === '' ? undefined : config.token;
  if (token !== undefined && !/^[\x21-\x7e]+$/.test(token)) {
    // Deliberately does not echo the token.
    throw new Error('policy API token contains characters not allowed in an HTTP header');
  }
  const userAgent = config.userAgent ?? DEFAULT_USER_AGENT;
  const ownedAgent =
    config.dispatcher === undefined
      ? new Agent({ headersTimeout: timeoutMs, bodyTimeout: timeoutMs, connectTimeout: timeoutMs })
      : undefined;
  const dispatcher: Dispatcher = config.dispatcher ?? (ownedAgent as Agent);
  let closed: Promise<void> | undefined;

  /** Removes the token from any text that might leave the client (messages, excerpts, raw bodies). */
  const redact = (text: string): string => (token === undefined ? text : text.split(token).join(REDACTED));
  /**
   * Redact first, then cut: cutting first could leave a token straddling the cut partly in the
   * excerpt, where redacting the whole token no longer matches (found by the chaos suite).
   */
  const safeExcerpt = (text: string): string => excerpt(redact(text));
  /** JSON.parse's message quotes the start of the text, so take it from the redacted text. */
  const jsonErrorMessage = (text: string): string => {
    try {
      JSON.parse(redact(text));
      return 'not valid JSON';
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  };
  /**
   * A parsed response as it may be stored: token redacted, lone surrogates (valid in JSON text, but
   * not storable in the warehouse's JSON columns) replaced by U+FFFD, and keys kept as own
   * properties (`out[k] = v` would turn a `__proto__` key into a prototype and drop it).
   */
  const cleanString = (text: string): string => redact(text).replace(LONE_SURROGATE, '\ufffd');
  const cleanJson = (v: JsonValue): JsonValue => {
    if (typeof v === 'string') return cleanString(v);
    if (Array.isArray(v)) return v.map(cleanJson);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, val]) => [cleanString(k), cleanJson(val)]));
    }
    return v;
  };

  const fail = (
    step: ApiStep,
    args: Omit<ConstructorParameters<typeof PolicyApiError>[0], 'step' | 'message'> & { detail: string },
  ): PolicyApiError => {
    const { detail, ...rest } = args;
    return new PolicyApiError({
      ...rest,
      step,
      message: `${STEP_LABEL[step]}: ${redact(detail)}`,
      bodyExcerpt: rest.bodyExcerpt === undefined ? undefined : redact(rest.bodyExcerpt),
    });
  };

  /** Transport-level failures (no HTTP status): timeouts and network errors. */
  const toPolicyApiError = (step: ApiStep, err: unknown, deadlinePassed: boolean): PolicyApiError => {
    if (err instanceof PolicyApiError) return err;
    const code = errorCode(err);
    const name = err instanceof Error ? err.name : undefined;
    if (deadlinePassed || name === 'TimeoutError' || (code !== undefined && TIMEOUT_CODES.has(code))) {
      return fail(step, {
        kind: 'timeout',
        retryable: true,
        detail: `timed out after ${timeoutMs} ms`,
        cause: err,
      });
    }
    const message = err instanceof Error ? err.message : String(err);
    const detail = code !== undefined && !message.includes(code) ? `${message} (${code})` : message;
    return fail(step, {
      kind: 'network',
      retryable: !(code !== undefined && NON_RETRYABLE_CODES.has(code)),
      detail: `network error: ${safeExcerpt(detail)}`,
      cause: err,
    });
  };

  /** Reads at most maxResponseBytes of the body; `overflow` when there was more (the rest is discarded). */
  const readCapped = async (
    body: Dispatcher.ResponseData['body'],
  ): Promise<{ bytes: Buffer; overflow: boolean }> => {
    body.on('error', () => undefined); // errors surface through the iterator below
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of body) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      if (total + buf.length > maxResponseBytes) {
        chunks.push(buf.subarray(0, maxResponseBytes - total));
        body.destroy();
        return { bytes: Buffer.concat(chunks), overflow: true };
      }
      total += buf.length;
      chunks.push(buf);
    }
    return { bytes: Buffer.concat(chunks), overflow: false };
  };

  const httpError = (
    step: ApiStep,
    status: number,
    headers: Record<string, string | string[] | undefined>,
    text: string,
  ): PolicyApiError => {
    const { retryable } = classifyHttpStatus(status);
    const bodyExcerpt = text.length > 0 ? safeExcerpt(text) : undefined;
    const reason = STATUS_CODES[status];
    const statusLine = reason ? `HTTP ${status} ${reason}` : `HTTP ${status}`;
    return fail(step, {
      kind: 'http',
      retryable,
      httpStatus: status,
      retryAfterMs: status === 429 || status === 503 ? parseRetryAfter(headers['retry-after']) : undefined,
      bodyExcerpt,
      detail: bodyExcerpt === undefined ? statusLine : `${statusLine}: ${bodyExcerpt}`,
    });
  };

  const call = async (
    step: ApiStep,
    method: 'GET' | 'POST',
    url: string,
    extra: { body?: string; idempotencyKey?: string },
  ): Promise<HttpResponse> => {
    if (closed !== undefined) {
      throw fail(step, { kind: 'network', retryable: true, detail: 'network error: client is closed' });
    }
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': userAgent };
    if (extra.body !== undefined) headers['content-type'] = 'application/json';
    if (extra.idempotencyKey !== undefined) headers['idempotency-key'] = extra.idempotencyKey;
    if (token !== undefined) headers.authorization = `Bearer ${token}`;

    const signal = AbortSignal.timeout(timeoutMs);
    const attempt = async (): Promise<HttpResponse> => {
      const res = await request(url, {
        dispatcher,
        method,
        headers,
        body: extra.body,
        signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const { bytes, overflow } = await readCapped(res.body);
      const text = new TextDecoder('utf-8').decode(bytes);
      if (res.statusCode < 200 || res.statusCode > 299) {
        // The (possibly truncated) body is only used for the excerpt.
        throw httpError(step, res.statusCode, res.headers, text);
      }
      if (overflow) {
        throw fail(step, {
          kind: 'too_large',
          retryable: false,
          httpStatus: res.statusCode,
          bodyExcerpt: safeExcerpt(text),
          detail: `response larger than ${maxResponseBytes} bytes`,
        });
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        const bodyExcerpt = safeExcerpt(text);
        // No `cause`: the SyntaxError's message quotes the unredacted body.
        throw fail(step, {
          kind: 'invalid_json',
          retryable: false,
          httpStatus: res.statusCode,
          bodyExcerpt,
          detail: `invalid JSON in response: ${excerpt(jsonErrorMessage(text))}; body: ${bodyExcerpt}`,
        });
      }
      if (nestsDeeperThan(json, MAX_RESPONSE_DEPTH)) {
        throw fail(step, {
          kind: 'invalid_response',
          retryable: false,
          httpStatus: res.statusCode,
          bodyExcerpt: safeExcerpt(text),
          detail: `response nests deeper than ${MAX_RESPONSE_DEPTH} levels`,
        });
      }
      return { status: res.statusCode, json: cleanJson(json as JsonValue), raw: text };
    };

    const op = attempt();
    op.catch(() => undefined); // if the deadline wins, the late rejection is expected
    let onAbort: (() => void) | undefined;
    const deadline = new Promise<never>((_, reject) => {
      onAbort = () => reject(new Error('deadline'));
      signal.addEventListener('abort', onAbort, { once: true });
    });
    deadline.catch(() => undefined);
    try {
      return await Promise.race([op, deadline]);
    } catch (err) {
      throw toPolicyApiError(step, err, signal.aborted);
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  };

  const invalidResponse = (step: ApiStep, status: number, raw: string, detail: string): PolicyApiError =>
    fail(step, {
      kind: 'invalid_response',
      retryable: false,
      httpStatus: status,
      bodyExcerpt: safeExcerpt(raw),
      detail,
    });

  const requireObject = (step: ApiStep, res: HttpResponse, field?: string): Record<string, unknown> => {
    const obj = field === undefined ? res.json : isObject(res.json) ? res.json[field] : undefined;
    if (!isObject(res.json)) {
      throw invalidResponse(step, res.status, res.raw, 'response is not a JSON object');
    }
    if (!isObject(obj)) {
      throw invalidResponse(step, res.status, res.raw, `response lacks required field '${field ?? ''}'`);
    }
    return obj;
  };

  return {
    async createPolicy(policy: PolicyData, opts): Promise<CreatePolicyResult> {
      const step = 'create_policy';
      const body = JSON.stringify({ ...policy, execution_id: opts.executionId });
      const res = await call(step, 'POST', urls.create, { body, idempotencyKey: opts.idempotencyKey });
      if (profile === 'httpbin') {
        const sent = requireObject(step, res, 'json');
        const expected = sent.expected_policy_id;
        return {
          policyId:
            typeof expected === 'string' && expected.length > 0 ? expected : `httpbin-${opts.idempotencyKey}`,
          executionId: optString(sent.execution_id),
          status: 'created',
          message: 'Policy created successfully',
          raw: res.json,
        };
      }
      const obj = requireObject(step, res);
      const policyId = obj.policy_id;
      if (typeof policyId !== 'string' || policyId.length === 0) {
        throw invalidResponse(step, res.status, res.raw, `response lacks required field 'policy_id'`);
      }
      if (policyId.length > MAX_POLICY_ID_CHARS) {
        // It becomes a search attribute; one over Temporal's size limit got the execution terminated.
        throw invalidResponse(
          step,
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

    async getPolicyStatus(policyId: string): Promise<PolicyStatusResult> {
      const step = 'poll_status';
      if (profile === 'policy' && (policyId === '' || policyId === '.' || policyId === '..')) {
        // URL parsing would drop or collapse these path segments and address another resource.
        throw fail(step, {
          kind: 'invalid_response',
          retryable: false,
          detail: `policy id ${JSON.stringify(policyId)} cannot be used as a URL path segment`,
        });
      }
      const res = await call(step, 'GET', urls.status(policyId), {});
      if (profile === 'httpbin') {
        const args = requireObject(step, res, 'args');
        return {
          policyId: optString(args.policy_id),
          status: optString(args.status) ?? 'success',
          message: optString(args.message),
          raw: res.json,
        };
      }
      const obj = requireObject(step, res);
      const status = obj.status;
      if (typeof status !== 'string') {
        throw invalidResponse(step, res.status, res.raw, `response lacks required field 'status'`);
      }
      return {
        policyId: optString(obj.policy_id),
        status,
        message: optString(obj.message),
        raw: res.json,
      };
    },

    async triggerCircuitBreaker(req: CircuitBreakerRequest, opts): Promise<CircuitBreakerResult> {
      const step = 'circuit_breaker';
      const res = await call(step, 'POST', urls.circuit, {
        body: JSON.stringify(req),
        idempotencyKey: opts.idempotencyKey,
      });
      if (profile === 'httpbin') {
        const sent = requireObject(step, res, 'json');
        const executionId = optString(sent.execution_id);
        return {
          circuitBreakerId: executionId === null ? null : `cb_${executionId}`,
          status: 'initiated',
          message: 'Circuit breaker initiated successfully',
          raw: res.json,
        };
      }
      const obj = requireObject(step, res);
      return {
        circuitBreakerId: optString(obj.circuit_breaker_id),
        status: optString(obj.status),
        message: optString(obj.message),
        raw: res.json,
      };
    },

    close(): Promise<void> {
      closed ??= ownedAgent === undefined ? Promise.resolve() : ownedAgent.close().then(() => undefined);
      return closed;
    },
  };
}
