/**
 * Admin routes of the policy API simulator, under /_sim/: the HTTP face of the `Simulator` handle
 * (scripts, faults, down switch, chaos, request log, stats, reset) for processes that are not the
 * one running it.
 *
 * PUT  /_sim/policies/{id}   script a policy id: { statuses?, latencyMs?, faults?, assignPolicyId? }
 * GET  /_sim/policies/{id}   that policy's simulator state
 * PUT  /_sim/default         default script (for ids without their own)
 * PUT  /_sim/faults          { faults: Fault[] } global faults (any policy)
 * PUT  /_sim/down            { down: boolean, mode?: "reset" | "503" }
 * PUT  /_sim/chaos           { failureRate, kind?, seed?, spikeRate?, spikeMs? } or null;
 *                            DELETE /_sim/chaos turns it off
 * GET  /_sim/requests        { requests } (?policy_id= filter); DELETE clears the log
 * GET  /_sim/stats           counters
 * POST /_sim/reset           clear everything
 * (POST is accepted wherever PUT is.)
 */
import { MAX_BODY_BYTES, decodeSegment, parseJson, type BodyResult, type Reply } from './io';
import type { SimState } from './state';
import {
  ValidationError,
  parseChaos,
  parseDown,
  parseFaults,
  parseScript,
  type JsonValue,
  type Simulator,
} from './types';

export function isAdminPath(path: string): boolean {
  return path === '/_sim' || path.startsWith('/_sim/');
}

export function handleAdmin(
  sim: Simulator,
  state: SimState,
  method: string,
  path: string,
  query: string,
  bodyResult: BodyResult,
): Reply {
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
        sim.scriptPolicy(id, parseScript(body ?? {}));
        return ok;
      }
      if (method === 'GET') {
        const st = state.policies.get(id);
        return {
          status: 200,
          body: {
            policy_id: id,
            script: (state.scripts.get(id) ?? null) as JsonValue,
            created: st?.created ?? false,
            execution_id: st?.executionId ?? null,
            polls: st?.polls ?? 0,
          },
        };
      }
    } else if (path === '/_sim/default' && isSet) {
      sim.setDefaultScript(parseScript(body ?? {}));
      return ok;
    } else if (path === '/_sim/faults' && isSet) {
      const b = body as { faults?: unknown } | undefined;
      sim.setGlobalFaults(parseFaults(Array.isArray(body) ? body : b?.faults));
      return ok;
    } else if (path === '/_sim/down' && isSet) {
      const d = parseDown(body);
      sim.setDown(d.down, d.mode);
      return ok;
    } else if (path === '/_sim/chaos') {
      if (method === 'DELETE') {
        sim.setChaos(null);
        return ok;
      }
      if (isSet) {
        sim.setChaos(parseChaos(body ?? null));
        return ok;
      }
    } else if (path === '/_sim/requests') {
      if (method === 'GET') {
        const policyId = new URLSearchParams(query).get('policy_id');
        const requests = sim.requests(policyId !== null ? { policyId } : undefined);
        return { status: 200, body: { requests } as unknown as JsonValue };
      }
      if (method === 'DELETE') {
        state.clearLog();
        return ok;
      }
    } else if (path === '/_sim/stats' && method === 'GET') {
      return { status: 200, body: sim.stats() as unknown as JsonValue };
    } else if (path === '/_sim/reset' && (method === 'POST' || method === 'PUT')) {
      sim.reset();
      return ok;
    }
  } catch (err) {
    if (err instanceof ValidationError) return { status: 400, body: { error: err.message } };
    throw err;
  }
  return { status: 404, body: { error: 'no such admin endpoint' } };
}
