/**
 * The policy API client (undici): the request flow. One request per call, no retries here: Temporal's
 * retry policy retries, driven by the classification on PolicyApiError (docs/design.md, decision 4; errors.ts).
 * Each call sends its endpoint's request (endpoints.ts) under one overall deadline with a body cap,
 * parses the body and hands it back cleaned (redact.ts) for the endpoint to map onto its result.
 */
import { Agent, request, type Dispatcher } from 'undici';
import { apiTimeoutProblem } from '../policy/input';
import type { JsonValue } from '../policy/state';
import {
  checkProfile,
  createEndpoints,
  normalizeBaseUrl,
  type ApiRequest,
  type ApiResponse,
  type Endpoint,
} from './endpoints';
import { policyApiErrors } from './errors';
import { createRedactor } from './redact';
import type { ApiStep, EndpointProfile, PolicyApi, PolicyApiError } from './types';

export interface PolicyApiConfig {
  /** e.g. http://127.0.0.1:8787 ; may include a path prefix. */
  baseUrl: string;
  /** 'policy' (default) or 'httpbin' (the usage guide's stand-ins). */
  profile?: EndpointProfile;
  /** Optional bearer token (from the worker's environment only). Never appears in error messages. */
  token?: string;
  /** Overall per-request deadline: connect + headers + body. Default 30 000, at most MAX_API_TIMEOUT_MS. */
  timeoutMs?: number;
  /** Response body size cap. Default 1 MiB. */
  maxResponseBytes?: number;
  /** undici dispatcher (tests pass a MockAgent). Default: an undici Agent owned by the client. */
  dispatcher?: Dispatcher;
  userAgent?: string;
  /**
   * Extra headers for each request, asked for as it is sent: the W3C trace context of the active
   * span (`traceparent`, src/observability/tracing.ts). They never replace the client's own headers.
   */
  requestHeaders?: () => Record<string, string>;
  /** Sees every HTTP call as it ends: its step, how long it took, its error if it failed (metrics). */
  onCall?: (call: { step: ApiStep; durationMs: number; error?: PolicyApiError }) => void;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
const DEFAULT_USER_AGENT = 'policy-execution/0.1.0';

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

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`policy API ${name} must be a positive integer`);
  return value;
}

export function createPolicyApiClient(config: PolicyApiConfig): PolicyApi {
  const profile = checkProfile(config.profile);
  const base = normalizeBaseUrl(config.baseUrl);
  const timeoutMs = positiveInt('timeoutMs', config.timeoutMs, DEFAULT_TIMEOUT_MS);
  const timeoutProblem = apiTimeoutProblem(timeoutMs);
  if (timeoutProblem) throw new Error(`policy API timeoutMs (POLICY_API_TIMEOUT_MS) ${timeoutProblem}`);
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
  const redactor = createRedactor(token);
  const errors = policyApiErrors(redactor, timeoutMs);
  const endpoints = createEndpoints(profile, base, errors);
  const ownedAgent =
    config.dispatcher === undefined
      ? new Agent({ headersTimeout: timeoutMs, bodyTimeout: timeoutMs, connectTimeout: timeoutMs })
      : undefined;
  const dispatcher: Dispatcher = config.dispatcher ?? (ownedAgent as Agent);
  let closed: Promise<void> | undefined;

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

  const call = async (step: ApiStep, req: ApiRequest): Promise<ApiResponse> => {
    if (closed !== undefined) throw errors.closed(step);
    const headers: Record<string, string> = {
      ...config.requestHeaders?.(),
      accept: 'application/json',
      'user-agent': userAgent,
    };
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    if (req.idempotencyKey !== undefined) headers['idempotency-key'] = req.idempotencyKey;
    if (token !== undefined) headers.authorization = `Bearer ${token}`;

    const signal = AbortSignal.timeout(timeoutMs);
    const started = performance.now();
    const observe = (error?: PolicyApiError) =>
      config.onCall?.({ step, durationMs: performance.now() - started, error });
    const attempt = async (): Promise<ApiResponse> => {
      const res = await request(req.url, {
        dispatcher,
        method: req.method,
        headers,
        body: req.body,
        signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const { bytes, overflow } = await readCapped(res.body);
      const text = new TextDecoder('utf-8').decode(bytes);
      if (res.statusCode < 200 || res.statusCode > 299) {
        // The (possibly truncated) body is only used for the excerpt.
        throw errors.httpStatus(step, res.statusCode, res.headers, text);
      }
      if (overflow) throw errors.tooLarge(step, res.statusCode, text, maxResponseBytes);
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw errors.invalidJson(step, res.statusCode, text);
      }
      if (nestsDeeperThan(json, MAX_RESPONSE_DEPTH)) {
        throw errors.invalidResponse(
          step,
          res.statusCode,
          text,
          `response nests deeper than ${MAX_RESPONSE_DEPTH} levels`,
        );
      }
      return { status: res.statusCode, json: redactor.cleanJson(json as JsonValue), raw: text };
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
      const response = await Promise.race([op, deadline]);
      observe();
      return response;
    } catch (err) {
      const failure = errors.transport(step, err, signal.aborted);
      observe(failure);
      throw failure;
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  };

  /** One endpoint call: its request (which may refuse its arguments), the HTTP call, its result. */
  const send = async <Args extends unknown[], Result>(
    endpoint: Endpoint<Args, Result>,
    ...args: Args
  ): Promise<Result> => {
    const req = endpoint.request(...args);
    const res = await call(endpoint.step, req);
    return endpoint.result(res, ...args);
  };

  return {
    createPolicy: (policy, opts) => send(endpoints.createPolicy, policy, opts),
    getPolicyStatus: (policyId) => send(endpoints.getPolicyStatus, policyId),
    triggerCircuitBreaker: (req, opts) => send(endpoints.triggerCircuitBreaker, req, opts),
    close(): Promise<void> {
      closed ??= ownedAgent === undefined ? Promise.resolve() : ownedAgent.close().then(() => undefined);
      return closed;
    },
  };
}
