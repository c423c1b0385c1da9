/**
 * API routes of the policy API simulator: routing a request (POST /createpolicy,
 * GET /policy/{policy_id}, POST /circuit, the httpbin stand-ins POST /post and GET /get,
 * GET /health) to its operation, logging it, and applying the down switch, latency and faults around
 * it. The operations are in policy-ops.ts and httpbin.ts.
 */
import type * as http from 'node:http';
import { deliverFault, type FaultOp, type FaultState } from './faults';
import { httpbinGet, httpbinPost } from './httpbin';
import {
  MAX_BODY_BYTES,
  decodeSegment,
  headerValue,
  isRecord,
  nonEmptyString,
  parseJson,
  resetSocket,
  send,
  type BodyResult,
  type LineLog,
  type Reply,
} from './io';
import { doCircuit, doCreate, doStatus } from './policy-ops';
import type { SimState } from './state';
import type { JsonValue, RequestLogEntry, RequestOp } from './types';

/** What an API request needs from the running simulator. */
export interface ApiContext {
  state: SimState;
  faults: FaultState;
  /** `host:port` the simulator listens on (httpbin's `url` when the request has no Host header). */
  listenHost: string;
  log: LineLog;
  onRequest: ((entry: Readonly<RequestLogEntry>) => void) | undefined;
  /** A delay that close() cuts short. */
  sleep(ms: number): Promise<void>;
  closing(): boolean;
}

/** The three policy-API operations a request counts as, for faults (httpbin stand-ins included). */
function faultOpOf(op: RequestOp, body: JsonValue): FaultOp | null {
  switch (op) {
    case 'create':
    case 'status':
    case 'circuit':
      return op;
    case 'httpbin_get':
      return 'status';
    case 'httpbin_post':
      return isRecord(body) && (body.trigger_reason !== undefined || body.circuit_breaker_id !== undefined)
        ? 'circuit'
        : 'create';
    default:
      return null;
  }
}

interface Route {
  op: RequestOp;
  policyId: string | null;
  /** Set when the route itself is an error (bad method, bad encoding, unknown path). */
  error?: Reply;
}

function route(method: string, path: string, query: string, body: JsonValue): Route {
  const notAllowed = (op: RequestOp): Route => ({
    op,
    policyId: null,
    error: { status: 405, body: { error: 'method not allowed' } },
  });
  if (path === '/createpolicy') {
    if (method !== 'POST') return notAllowed('create');
    return { op: 'create', policyId: isRecord(body) ? nonEmptyString(body.expected_policy_id) : null };
  }
  if (path.startsWith('/policy/')) {
    const seg = path.slice('/policy/'.length);
    if (seg.length === 0 || seg.includes('/')) {
      return { op: 'unknown', policyId: null, error: { status: 404, body: { error: 'not found' } } };
    }
    if (method !== 'GET') return notAllowed('status');
    const id = decodeSegment(seg);
    if (id === null) {
      return {
        op: 'status',
        policyId: null,
        error: { status: 400, body: { error: 'malformed policy id' } },
      };
    }
    return { op: 'status', policyId: id };
  }
  if (path === '/circuit') {
    if (method !== 'POST') return notAllowed('circuit');
    return { op: 'circuit', policyId: isRecord(body) ? nonEmptyString(body.policy_id) : null };
  }
  if (path === '/post') {
    if (method !== 'POST') return notAllowed('httpbin_post');
    const id = isRecord(body)
      ? (nonEmptyString(body.expected_policy_id) ?? nonEmptyString(body.policy_id))
      : null;
    return { op: 'httpbin_post', policyId: id };
  }
  if (path === '/get') {
    if (method !== 'GET') return notAllowed('httpbin_get');
    const id = new URLSearchParams(query).get('policy_id');
    return { op: 'httpbin_get', policyId: id !== null && id.length > 0 ? id : null };
  }
  if (path === '/health') {
    if (method !== 'GET') return notAllowed('health');
    return { op: 'health', policyId: null };
  }
  return { op: 'unknown', policyId: null, error: { status: 404, body: { error: 'not found' } } };
}

export async function handleApi(
  ctx: ApiContext,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  method: string,
  path: string,
  query: string,
  bodyResult: BodyResult,
): Promise<void> {
  const { state, faults, log } = ctx;
  const rawText = bodyResult.raw.toString('utf8');
  let body: JsonValue = null;
  if (rawText.length > 0) {
    const parsed = parseJson(rawText);
    body = parsed.ok ? parsed.value : rawText;
  }
  const r = route(method, path, query, body);
  const authHeader = headerValue(req.headers.authorization);
  const entry: RequestLogEntry = {
    seq: state.nextSeq(),
    at: new Date().toISOString(),
    method,
    path,
    query: query.length > 0 ? query : null,
    op: r.op,
    policyId: r.policyId,
    idempotencyKey: headerValue(req.headers['idempotency-key']),
    authorization: authHeader !== null,
    authorizationHeader: authHeader,
    traceparent: headerValue(req.headers.traceparent),
    body: bodyResult.tooLarge ? null : body,
    responseStatus: null,
    fault: null,
    replayed: false,
    committed: false,
  };
  state.log.push(entry);
  ctx.onRequest?.(entry);

  if (bodyResult.tooLarge) {
    const error = `request body exceeds ${MAX_BODY_BYTES} bytes`;
    send(res, entry, { status: 413, body: { error }, headers: { connection: 'close' } }, log);
    return;
  }
  if (faults.down.down) {
    entry.fault = 'down';
    if (faults.down.mode === 'reset') resetSocket(req, entry, log);
    else send(res, entry, { status: 503, body: { error: 'service unavailable (simulator is down)' } }, log);
    return;
  }

  const st =
    r.policyId !== null && r.op !== 'health' && r.op !== 'unknown' ? state.policyState(r.policyId) : null;
  state.countRequest(r.op, st);

  const faultOp = r.error ? null : faultOpOf(r.op, body);
  const fault = faultOp ? faults.choose(st ? st.faults : null, faultOp) : null;

  const spike = faults.spikeMs();
  if (fault?.kind !== 'hang' || fault.afterCommit === true) await ctx.sleep(state.latencyFor(st) + spike);
  // A client that went away meanwhile (gave up, or its process died) gets nothing processed.
  if (ctx.closing() || res.destroyed || req.socket.destroyed) return;

  const out = { totals: state.totals, log };
  if (fault && fault.afterCommit !== true) {
    deliverFault(req, res, entry, fault, null, out);
    return;
  }

  let reply: Reply;
  if (r.error) reply = r.error;
  else {
    switch (r.op) {
      case 'create':
        reply = doCreate(state, body, entry);
        break;
      case 'status':
        reply = doStatus(state, r.policyId ?? '');
        break;
      case 'circuit':
        reply = doCircuit(state, body, entry);
        break;
      case 'httpbin_post':
        reply = httpbinPost(req, rawText, query, ctx.listenHost);
        break;
      case 'httpbin_get':
        reply = httpbinGet(req, query, ctx.listenHost);
        break;
      case 'health':
        reply = { status: 200, body: { ok: true } };
        break;
      default:
        reply = { status: 404, body: { error: 'not found' } };
    }
  }

  // A create without expected_policy_id (or with an assigned id) only learns its policy id now.
  if (r.op === 'create' && entry.policyId !== null && entry.policyId !== r.policyId) {
    const known = state.policies.get(entry.policyId);
    if (known) known.counters.createRequests += 1;
  }

  if (fault) deliverFault(req, res, entry, fault, reply, out);
  else send(res, entry, reply, log);
}
