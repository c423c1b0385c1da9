/**
 * The policy API simulator: a stand-alone fake of the external policy API (and the usage guide's
 * httpbin stand-ins) on `node:http`, with scripted statuses, latency, faults and a request log.
 *
 * API endpoints: POST /createpolicy, GET /policy/{policy_id}, POST /circuit, POST /post, GET /get,
 * GET /health. Admin endpoints under /_sim/ (see README comment on `handleAdmin`).
 *
 * Imports nothing from `src/`.
 */
import * as http from 'node:http';
import type { Socket } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  ValidationError,
  parseChaos,
  parseDown,
  parseFaults,
  parseScript,
  type ChaosConfig,
  type DownMode,
  type Fault,
  type JsonValue,
  type PolicyCounters,
  type PolicyScript,
  type RequestLogEntry,
  type RequestOp,
  type SimulatorStats,
} from './types';

export * from './types';

export interface SimulatorOptions {
  /** 0 = ephemeral (default 0). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Latency for every request unless a script says otherwise. Default 0. */
  defaultLatencyMs?: number;
  /** Suppress warnings about server-side errors. */
  quiet?: boolean;
  /** Called with one line per finished API request (main.ts wires this to SIMULATOR_LOG=1). */
  log?: (line: string) => void;
  /**
   * Called synchronously as each API request arrives (headers and body read, before latency, faults
   * or processing), with its log entry. The chaos suite uses it to kill a worker mid-request.
   */
  onRequest?: (entry: Readonly<RequestLogEntry>) => void;
}

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

/** Request bodies above this get 413. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Oversize fault default. */
export const DEFAULT_OVERSIZE_BYTES = 2 * 1024 * 1024;
/** A request body is drained up to this size (to answer 413 cleanly), then the socket is cut. */
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;

const READY = ['success', 'completed', 'active', 'ready'];
const WAITING = ['pending', 'processing'];
const FAILED = ['failed', 'error'];

export function statusMessage(status: string): string {
  const s = status.trim().toLowerCase();
  if (READY.includes(s)) return 'Policy is ready for circuit breaker';
  if (WAITING.includes(s)) return 'Policy is still being processed';
  if (FAILED.includes(s)) return 'Policy creation failed';
  return `Policy status is ${status}`;
}

interface FaultSlot {
  fault: Fault;
  /** -1 = forever. */
  remaining: number;
}

interface PolicyState {
  id: string;
  /** The per-id script, if one was set; otherwise the default script applies. */
  scripted: PolicyScript | null;
  faults: FaultSlot[];
  created: boolean;
  executionId: string | null;
  polls: number;
  counters: PolicyCounters;
}

interface Reply {
  status: number;
  body: JsonValue;
  headers?: Record<string, string>;
}

interface BodyResult {
  raw: Buffer;
  tooLarge: boolean;
}

type FaultOp = 'create' | 'status' | 'circuit';

function zeroCounters(): PolicyCounters {
  return { creates: 0, createRequests: 0, statusRequests: 0, circuitRequests: 0, circuitTriggers: 0 };
}

function slotsFor(faults: Fault[] | undefined): FaultSlot[] {
  return (faults ?? []).map((fault) => ({ fault, remaining: fault.times ?? 1 }));
}

/** mulberry32: small seeded PRNG, good enough for chaos decisions. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** `YYYYMMDD_HHMMSS` in UTC. */
function stamp(d = new Date()): string {
  return (
    `${d.getUTCFullYear()}${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())}_` +
    `${pad2(d.getUTCHours())}${pad2(d.getUTCMinutes())}${pad2(d.getUTCSeconds())}`
  );
}

function shortRandom(): string {
  return randomBytes(4).toString('hex');
}

function isRecord(v: unknown): v is Record<string, JsonValue> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function nonEmptyString(v: unknown): string | null {
  return typeof v === 'string' && v.length > 0 ? v : null;
}

function headerValue(v: string | string[] | undefined): string | null {
  if (v === undefined) return null;
  return Array.isArray(v) ? v.join(', ') : v;
}

function parseJson(text: string): { ok: true; value: JsonValue } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as JsonValue };
  } catch {
    return { ok: false };
  }
}

function queryArgs(query: string): Record<string, JsonValue> {
  const args: Record<string, JsonValue> = {};
  for (const [k, v] of new URLSearchParams(query)) {
    const prev = args[k];
    if (prev === undefined) args[k] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else args[k] = [prev, v];
  }
  return args;
}

function titleCase(name: string): string {
  return name
    .split('-')
    .map((p) => (p.length > 0 ? p[0]!.toUpperCase() + p.slice(1) : p))
    .join('-');
}

function echoHeaders(req: http.IncomingMessage): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    const v = headerValue(value);
    if (v !== null) out[titleCase(name)] = v;
  }
  return out;
}

function decodeSegment(seg: string): string | null {
  try {
    return decodeURIComponent(seg);
  } catch {
    return null;
  }
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

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const host = opts.host ?? '127.0.0.1';
  const quiet = opts.quiet ?? false;

  // ---- mutable state (everything `reset()` clears) ----
  let scripts = new Map<string, PolicyScript>();
  let defaultScript: PolicyScript = {};
  let globalFaults: FaultSlot[] = [];
  let down: { down: boolean; mode: DownMode } = { down: false, mode: 'reset' };
  let chaos: { config: ChaosConfig; rng: () => number } | null = null;
  let policies = new Map<string, PolicyState>();
  let idempotent = new Map<string, Reply & { policyId: string | null }>();
  let log: RequestLogEntry[] = [];
  let seq = 0;
  let totals = { ...zeroCounters(), idempotentReplays: 0, httpbinRequests: 0, faultsInjected: 0 };

  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let closing = false;
  let closePromise: Promise<void> | null = null;

  function policyState(id: string): PolicyState {
    let st = policies.get(id);
    if (st === undefined) {
      const scripted = scripts.get(id) ?? null;
      st = {
        id,
        scripted,
        faults: slotsFor((scripted ?? defaultScript).faults),
        created: false,
        executionId: null,
        polls: 0,
        counters: zeroCounters(),
      };
      policies.set(id, st);
    }
    return st;
  }

  function latencyFor(st: PolicyState | null): number {
    return st?.scripted?.latencyMs ?? defaultScript.latencyMs ?? opts.defaultLatencyMs ?? 0;
  }

  function statusesFor(st: PolicyState): string[] {
    return st.scripted?.statuses ?? defaultScript.statuses ?? ['success'];
  }

  function takeFault(slots: FaultSlot[], op: FaultOp): Fault | null {
    for (const slot of slots) {
      if (slot.remaining === 0) continue;
      if (slot.fault.on !== 'any' && slot.fault.on !== op) continue;
      if (slot.remaining > 0) slot.remaining -= 1;
      return slot.fault;
    }
    return null;
  }

  function chooseFault(st: PolicyState | null, op: FaultOp): Fault | null {
    const f = (st ? takeFault(st.faults, op) : null) ?? takeFault(globalFaults, op);
    if (f) return f;
    if (chaos && chaos.config.failureRate > 0 && chaos.rng() < chaos.config.failureRate) {
      return { on: 'any', kind: chaos.config.kind };
    }
    return null;
  }

  function sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });
  }

  // ---- responses ----
  function send(res: http.ServerResponse, entry: RequestLogEntry | null, reply: Reply): void {
    if (entry) entry.responseStatus = reply.status;
    if (res.destroyed || res.writableEnded) return;
    const text = reply.status === 204 ? '' : JSON.stringify(reply.body);
    res.writeHead(reply.status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      ...reply.headers,
    });
    res.end(text);
    if (entry && opts.log) {
      opts.log(`${entry.method} ${entry.path} -> ${reply.status}${entry.fault ? ` (${entry.fault})` : ''}`);
    }
  }

  function resetSocket(req: http.IncomingMessage, entry: RequestLogEntry): void {
    entry.responseStatus = null;
    opts.log?.(`${entry.method} ${entry.path} -> reset${entry.fault === 'down' ? ' (down)' : ''}`);
    const socket = req.socket;
    if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
    else socket.destroy();
  }

  function deliverFault(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    entry: RequestLogEntry,
    fault: Fault,
    committed: Reply | null,
  ): void {
    entry.fault = fault.kind;
    totals.faultsInjected += 1;
    switch (fault.kind) {
      case 'http500':
        send(res, entry, { status: 500, body: { error: 'internal server error (simulated)' } });
        return;
      case 'http503':
        send(res, entry, {
          status: 503,
          body: { error: 'service unavailable (simulated)' },
          headers:
            fault.retryAfterSeconds !== undefined
              ? { 'retry-after': String(fault.retryAfterSeconds) }
              : undefined,
        });
        return;
      case 'http429':
        send(res, entry, {
          status: 429,
          body: { error: 'too many requests (simulated)' },
          headers: { 'retry-after': String(fault.retryAfterSeconds ?? 1) },
        });
        return;
      case 'hang':
        // Never answer; the socket stays open until the client gives up or close() destroys it.
        entry.responseStatus = null;
        opts.log?.(`${entry.method} ${entry.path} -> hang`);
        return;
      case 'reset':
        resetSocket(req, entry);
        return;
      case 'malformed_json': {
        entry.responseStatus = 200;
        const text = '{"policy_id": "x", ';
        if (!res.destroyed) {
          res.writeHead(200, {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(text),
          });
          res.end(text);
        }
        return;
      }
      case 'raw_body': {
        const status = fault.status ?? 200;
        entry.responseStatus = status;
        const auth = headerValue(req.headers.authorization) ?? '';
        const text = (fault.body ?? '').split('{{authorization}}').join(auth);
        if (!res.destroyed) {
          res.writeHead(status, {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(text),
          });
          res.end(text);
        }
        opts.log?.(`${entry.method} ${entry.path} -> ${status} (raw_body)`);
        return;
      }
      case 'oversize': {
        entry.responseStatus = 200;
        const base: Record<string, JsonValue> =
          committed && isRecord(committed.body)
            ? { ...committed.body }
            : { policy_id: entry.policyId ?? 'x', status: 'success', message: 'oversize (simulated)' };
        const target = fault.bytes ?? DEFAULT_OVERSIZE_BYTES;
        const head = JSON.stringify({ ...base, padding: '' });
        const padding = 'x'.repeat(Math.max(0, target - Buffer.byteLength(head)));
        const text = JSON.stringify({ ...base, padding });
        if (!res.destroyed) {
          res.writeHead(200, {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(text),
          });
          res.end(text);
        }
        return;
      }
    }
  }

  // ---- body ----
  function readBody(req: http.IncomingMessage): Promise<BodyResult> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let tooLarge = false;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_DRAIN_BYTES) {
          req.socket.destroy();
          return;
        }
        if (size > MAX_BODY_BYTES) {
          tooLarge = true;
          chunks.length = 0;
          return;
        }
        chunks.push(chunk);
      });
      req.on('end', () => resolve({ raw: tooLarge ? Buffer.alloc(0) : Buffer.concat(chunks), tooLarge }));
      req.on('error', reject);
      req.on('close', () => {
        if (!req.complete) reject(new Error('request aborted'));
      });
    });
  }

  // ---- API operations ----
  function doCreate(body: JsonValue, entry: RequestLogEntry): Reply {
    if (!isRecord(body)) return { status: 400, body: { error: 'request body must be a JSON object' } };
    const key = entry.idempotencyKey;
    if (key !== null) {
      const prior = idempotent.get(`create:${key}`);
      if (prior) {
        entry.replayed = true;
        entry.policyId = prior.policyId;
        totals.idempotentReplays += 1;
        return prior;
      }
    }
    const expected = nonEmptyString(body.expected_policy_id);
    const policyId =
      (expected !== null ? scripts.get(expected)?.assignPolicyId : undefined) ?? expected ?? randomUUID();
    const executionId = nonEmptyString(body.execution_id) ?? `exec_${stamp()}_${shortRandom()}`;
    entry.policyId = policyId;
    const st = policyState(policyId);
    const from = expected !== null && policyId !== expected ? scripts.get(expected) : undefined;
    if (from && st.scripted === null) {
      // An assigned id answers status polls from the script that assigned it (its faults stay there).
      st.scripted = { statuses: from.statuses, latencyMs: from.latencyMs };
    }
    if (!st.created) {
      st.created = true;
      totals.creates += 1;
    }
    entry.committed = true;
    // A (re-)create starts the status script from the top.
    st.polls = 0;
    st.executionId = executionId;
    st.counters.creates += 1;
    const reply: Reply = {
      status: 200,
      body: {
        policy_id: policyId,
        execution_id: executionId,
        status: 'created',
        message: 'Policy created successfully',
      },
    };
    if (key !== null) idempotent.set(`create:${key}`, { ...reply, policyId });
    return reply;
  }

  function doStatus(policyId: string): Reply {
    const st = policies.get(policyId);
    if (!st?.created) return { status: 404, body: { error: 'policy not found' } };
    const statuses = statusesFor(st);
    const status = statuses[Math.min(st.polls, statuses.length - 1)] ?? 'success';
    st.polls += 1;
    return { status: 200, body: { policy_id: policyId, status, message: statusMessage(status) } };
  }

  function doCircuit(body: JsonValue, entry: RequestLogEntry): Reply {
    const key = entry.idempotencyKey;
    if (key !== null) {
      const prior = idempotent.get(`circuit:${key}`);
      if (prior) {
        entry.replayed = true;
        totals.idempotentReplays += 1;
        return prior;
      }
    }
    if (!isRecord(body)) return { status: 400, body: { error: 'request body must be a JSON object' } };
    const policyId = nonEmptyString(body.policy_id);
    if (policyId === null) return { status: 400, body: { error: 'policy_id is required' } };
    const st = policies.get(policyId);
    if (!st?.created) return { status: 404, body: { error: 'policy not found' } };
    st.counters.circuitTriggers += 1;
    totals.circuitTriggers += 1;
    entry.committed = true;
    const reply: Reply = {
      status: 200,
      body: {
        circuit_breaker_id: `cb_${stamp()}_${shortRandom()}`,
        status: 'initiated',
        message: 'Circuit breaker initiated successfully',
      },
    };
    if (key !== null) idempotent.set(`circuit:${key}`, { ...reply, policyId });
    return reply;
  }

  function doHttpbinPost(req: http.IncomingMessage, raw: string, query: string): Reply {
    const parsed = raw.length > 0 ? parseJson(raw) : { ok: false as const };
    return {
      status: 200,
      body: {
        args: queryArgs(query),
        data: raw,
        files: {},
        form: {},
        headers: echoHeaders(req),
        json: parsed.ok ? parsed.value : null,
        origin: clientAddress(req),
        url: `http://${req.headers.host ?? `${host}:${port}`}${req.url ?? '/'}`,
      },
    };
  }

  function doHttpbinGet(req: http.IncomingMessage, query: string): Reply {
    return {
      status: 200,
      body: {
        args: queryArgs(query),
        headers: echoHeaders(req),
        origin: clientAddress(req),
        url: `http://${req.headers.host ?? `${host}:${port}`}${req.url ?? '/'}`,
      },
    };
  }

  function clientAddress(req: http.IncomingMessage): string {
    const a = req.socket.remoteAddress ?? '127.0.0.1';
    return a.startsWith('::ffff:') ? a.slice(7) : a;
  }

  // ---- routing ----
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

  function countRequest(op: RequestOp, st: PolicyState | null): void {
    const field =
      op === 'create'
        ? 'createRequests'
        : op === 'status'
          ? 'statusRequests'
          : op === 'circuit'
            ? 'circuitRequests'
            : null;
    if (op === 'httpbin_get' || op === 'httpbin_post') totals.httpbinRequests += 1;
    if (field === null) return;
    totals[field] += 1;
    if (st) st.counters[field] += 1;
  }

  async function handleApi(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    method: string,
    path: string,
    query: string,
    bodyResult: BodyResult,
  ): Promise<void> {
    const rawText = bodyResult.raw.toString('utf8');
    let body: JsonValue = null;
    if (rawText.length > 0) {
      const parsed = parseJson(rawText);
      body = parsed.ok ? parsed.value : rawText;
    }
    const r = route(method, path, query, body);
    const authHeader = headerValue(req.headers.authorization);
    const entry: RequestLogEntry = {
      seq: ++seq,
      at: new Date().toISOString(),
      method,
      path,
      query: query.length > 0 ? query : null,
      op: r.op,
      policyId: r.policyId,
      idempotencyKey: headerValue(req.headers['idempotency-key']),
      authorization: authHeader !== null,
      authorizationHeader: authHeader,
      body: bodyResult.tooLarge ? null : body,
      responseStatus: null,
      fault: null,
      replayed: false,
      committed: false,
    };
    log.push(entry);
    opts.onRequest?.(entry);

    if (bodyResult.tooLarge) {
      send(res, entry, {
        status: 413,
        body: { error: `request body exceeds ${MAX_BODY_BYTES} bytes` },
        headers: { connection: 'close' },
      });
      return;
    }
    if (down.down) {
      entry.fault = 'down';
      if (down.mode === 'reset') resetSocket(req, entry);
      else send(res, entry, { status: 503, body: { error: 'service unavailable (simulator is down)' } });
      return;
    }

    const st =
      r.policyId !== null && r.op !== 'health' && r.op !== 'unknown' ? policyState(r.policyId) : null;
    countRequest(r.op, st);

    const faultOp = r.error ? null : faultOpOf(r.op, body);
    const fault = faultOp ? chooseFault(st, faultOp) : null;

    const spike =
      chaos?.config.spikeRate !== undefined && chaos.rng() < chaos.config.spikeRate
        ? (chaos.config.spikeMs ?? 1000)
        : 0;
    if (fault?.kind !== 'hang' || fault.afterCommit === true) await sleep(latencyFor(st) + spike);
    // A client that went away meanwhile (gave up, or its process died) gets nothing processed.
    if (closing || res.destroyed || req.socket.destroyed) return;

    if (fault && fault.afterCommit !== true) {
      deliverFault(req, res, entry, fault, null);
      return;
    }

    let reply: Reply;
    if (r.error) reply = r.error;
    else {
      switch (r.op) {
        case 'create':
          reply = doCreate(body, entry);
          break;
        case 'status':
          reply = doStatus(r.policyId ?? '');
          break;
        case 'circuit':
          reply = doCircuit(body, entry);
          break;
        case 'httpbin_post':
          reply = doHttpbinPost(req, rawText, query);
          break;
        case 'httpbin_get':
          reply = doHttpbinGet(req, query);
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
      const known = policies.get(entry.policyId);
      if (known) known.counters.createRequests += 1;
    }

    if (fault) deliverFault(req, res, entry, fault, reply);
    else send(res, entry, reply);
  }

  // ---- admin API ----
  /**
   * PUT  /_sim/policies/{id}   script a policy id: { statuses?, latencyMs?, faults? }
   * GET  /_sim/policies/{id}   that policy's simulator state
   * PUT  /_sim/default         default script (for ids without their own)
   * PUT  /_sim/faults          { faults: Fault[] } global faults (any policy)
   * PUT  /_sim/down            { down: boolean, mode?: "reset" | "503" }
   * PUT  /_sim/chaos           { failureRate, kind?, seed? } or null; DELETE /_sim/chaos turns it off
   * GET  /_sim/requests        { requests } (?policy_id= filter); DELETE clears the log
   * GET  /_sim/stats           counters
   * POST /_sim/reset           clear everything
   * (POST is accepted wherever PUT is.)
   */
  function handleAdmin(method: string, path: string, query: string, bodyResult: BodyResult): Reply {
    if (bodyResult.tooLarge) {
      return { status: 413, body: { error: `request body exceeds ${MAX_BODY_BYTES} bytes` } };
    }
    const rawText = bodyResult.raw.toString('utf8');
    let body: unknown = undefined;
    if (rawText.trim().length > 0) {
      const parsed = parseJson(rawText);
      if (!parsed.ok) return { status: 400, body: { error: 'invalid JSON body' } };
      body = parsed.value;
    }
    const isSet = method === 'PUT' || method === 'POST';
    const ok: Reply = { status: 200, body: { ok: true } };
    try {
      if (path.startsWith('/_sim/policies/')) {
        const id = decodeSegment(path.slice('/_sim/policies/'.length));
        if (id === null || id.length === 0) return { status: 400, body: { error: 'malformed policy id' } };
        if (isSet) {
          api.scriptPolicy(id, parseScript(body ?? {}));
          return ok;
        }
        if (method === 'GET') {
          const st = policies.get(id);
          return {
            status: 200,
            body: {
              policy_id: id,
              script: (scripts.get(id) ?? null) as JsonValue,
              created: st?.created ?? false,
              execution_id: st?.executionId ?? null,
              polls: st?.polls ?? 0,
            },
          };
        }
      } else if (path === '/_sim/default' && isSet) {
        api.setDefaultScript(parseScript(body ?? {}));
        return ok;
      } else if (path === '/_sim/faults' && isSet) {
        const b = body as { faults?: unknown } | undefined;
        api.setGlobalFaults(parseFaults(Array.isArray(body) ? body : b?.faults));
        return ok;
      } else if (path === '/_sim/down' && isSet) {
        const d = parseDown(body);
        api.setDown(d.down, d.mode);
        return ok;
      } else if (path === '/_sim/chaos') {
        if (method === 'DELETE') {
          api.setChaos(null);
          return ok;
        }
        if (isSet) {
          api.setChaos(parseChaos(body ?? null));
          return ok;
        }
      } else if (path === '/_sim/requests') {
        if (method === 'GET') {
          const policyId = new URLSearchParams(query).get('policy_id');
          const requests = api.requests(policyId !== null ? { policyId } : undefined);
          return { status: 200, body: { requests } as unknown as JsonValue };
        }
        if (method === 'DELETE') {
          log = [];
          return ok;
        }
      } else if (path === '/_sim/stats' && method === 'GET') {
        return { status: 200, body: api.stats() as unknown as JsonValue };
      } else if (path === '/_sim/reset' && (method === 'POST' || method === 'PUT')) {
        api.reset();
        return ok;
      }
    } catch (err) {
      if (err instanceof ValidationError) return { status: 400, body: { error: err.message } };
      throw err;
    }
    return { status: 404, body: { error: 'no such admin endpoint' } };
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    const qi = rawUrl.indexOf('?');
    const path = qi >= 0 ? rawUrl.slice(0, qi) : rawUrl;
    const query = qi >= 0 ? rawUrl.slice(qi + 1) : '';
    const method = (req.method ?? 'GET').toUpperCase();
    let bodyResult: BodyResult;
    try {
      bodyResult = await readBody(req);
    } catch {
      return; // client went away mid-body
    }
    if (path === '/_sim' || path.startsWith('/_sim/')) {
      const reply = handleAdmin(method, path, query, bodyResult);
      send(res, null, bodyResult.tooLarge ? { ...reply, headers: { connection: 'close' } } : reply);
      return;
    }
    await handleApi(req, res, method, path, query, bodyResult);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!quiet) console.error('policy API simulator: request failed:', err);
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'simulator internal error' }));
      }
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(opts.port ?? 0, host);
  });
  server.on('error', (err) => {
    if (!quiet) console.error('policy API simulator: server error:', err);
  });

  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (opts.port ?? 0);
  const urlHost = host.includes(':') ? `[${host}]` : host;

  const api: Simulator = {
    url: `http://${urlHost}:${port}`,
    port,
    scriptPolicy(id, script) {
      const s = parseScript(script);
      scripts.set(id, s);
      const st = policies.get(id);
      if (st) {
        st.scripted = s;
        st.faults = slotsFor(s.faults);
        st.polls = 0;
      }
    },
    setDefaultScript(s) {
      defaultScript = parseScript(s);
    },
    setGlobalFaults(f) {
      globalFaults = slotsFor(parseFaults(f));
    },
    setDown(isDown, mode = 'reset') {
      down = parseDown({ down: isDown, mode });
    },
    setChaos(c) {
      const config = parseChaos(c);
      chaos = config === null ? null : { config, rng: mulberry32(config.seed ?? 1) };
    },
    requests(filter) {
      const entries =
        filter?.policyId !== undefined ? log.filter((e) => e.policyId === filter.policyId) : log.slice();
      return entries.map((e) => structuredClone(e));
    },
    stats() {
      const perPolicy: Record<string, PolicyCounters> = {};
      for (const [id, st] of policies) perPolicy[id] = { ...st.counters };
      return { ...totals, perPolicy };
    },
    reset() {
      scripts = new Map();
      defaultScript = {};
      globalFaults = [];
      down = { down: false, mode: 'reset' };
      chaos = null;
      policies = new Map();
      idempotent = new Map();
      log = [];
      seq = 0;
      totals = { ...zeroCounters(), idempotentReplays: 0, httpbinRequests: 0, faultsInjected: 0 };
    },
    close() {
      if (closing) return closePromise ?? Promise.resolve();
      closing = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      closePromise = new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
        sockets.clear();
      });
      return closePromise;
    },
  };
  return api;
}
