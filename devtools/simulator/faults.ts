/**
 * Faults of the policy API simulator: fault slots (scripted faults consumed as matching requests
 * arrive), the global faults, the down switch and the seeded chaos config (random faults and latency
 * spikes), and delivering a chosen fault on the wire.
 */
import type * as http from 'node:http';
import { isRecord, headerValue, resetSocket, send, writeJsonText, type LineLog, type Reply } from './io';
import {
  parseChaos,
  parseDown,
  parseFaults,
  type ChaosConfig,
  type DownMode,
  type Fault,
  type JsonValue,
  type RequestLogEntry,
} from './types';

/** Oversize fault default. */
export const DEFAULT_OVERSIZE_BYTES = 2 * 1024 * 1024;

/** The three policy-API operations a fault can target (the httpbin stand-ins count as one of them). */
export type FaultOp = 'create' | 'status' | 'circuit';

export interface FaultSlot {
  fault: Fault;
  /** -1 = forever. */
  remaining: number;
}

export function slotsFor(faults: Fault[] | undefined): FaultSlot[] {
  return (faults ?? []).map((fault) => ({ fault, remaining: fault.times ?? 1 }));
}

/** Takes the first slot that still has hits left and matches `op`, or null. */
function takeFault(slots: FaultSlot[], op: FaultOp): Fault | null {
  for (const slot of slots) {
    if (slot.remaining === 0) continue;
    if (slot.fault.on !== 'any' && slot.fault.on !== op) continue;
    if (slot.remaining > 0) slot.remaining -= 1;
    return slot.fault;
  }
  return null;
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

/** The faults that apply to every policy: global slots, the down switch, chaos. */
export class FaultState {
  globalFaults: FaultSlot[] = [];
  down: { down: boolean; mode: DownMode } = { down: false, mode: 'reset' };
  private chaos: { config: ChaosConfig; rng: () => number } | null = null;

  setGlobalFaults(f: Fault[]): void {
    this.globalFaults = slotsFor(parseFaults(f));
  }

  setDown(isDown: boolean, mode: DownMode = 'reset'): void {
    this.down = parseDown({ down: isDown, mode });
  }

  setChaos(c: ChaosConfig | null): void {
    const config = parseChaos(c);
    this.chaos = config === null ? null : { config, rng: mulberry32(config.seed ?? 1) };
  }

  /** The policy's own slots first, then the global ones, then a chaos roll. */
  choose(policySlots: FaultSlot[] | null, op: FaultOp): Fault | null {
    const f = (policySlots ? takeFault(policySlots, op) : null) ?? takeFault(this.globalFaults, op);
    if (f) return f;
    const chaos = this.chaos;
    if (chaos && chaos.config.failureRate > 0 && chaos.rng() < chaos.config.failureRate) {
      return { on: 'any', kind: chaos.config.kind };
    }
    return null;
  }

  /** Extra delay of a chaos latency spike for this request (0 when none is rolled). */
  spikeMs(): number {
    const chaos = this.chaos;
    return chaos?.config.spikeRate !== undefined && chaos.rng() < chaos.config.spikeRate
      ? (chaos.config.spikeMs ?? 1000)
      : 0;
  }

  reset(): void {
    this.globalFaults = [];
    this.down = { down: false, mode: 'reset' };
    this.chaos = null;
  }
}

/**
 * Answers with `fault` instead of the real reply. `committed` is the real reply when the request
 * was processed first (`afterCommit`): an oversize answer pads that one.
 */
export function deliverFault(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  entry: RequestLogEntry,
  fault: Fault,
  committed: Reply | null,
  out: { totals: { faultsInjected: number }; log: LineLog },
): void {
  const { log } = out;
  entry.fault = fault.kind;
  out.totals.faultsInjected += 1;
  switch (fault.kind) {
    case 'http500':
      send(res, entry, { status: 500, body: { error: 'internal server error (simulated)' } }, log);
      return;
    case 'http503':
      send(
        res,
        entry,
        {
          status: 503,
          body: { error: 'service unavailable (simulated)' },
          headers:
            fault.retryAfterSeconds !== undefined
              ? { 'retry-after': String(fault.retryAfterSeconds) }
              : undefined,
        },
        log,
      );
      return;
    case 'http429':
      send(
        res,
        entry,
        {
          status: 429,
          body: { error: 'too many requests (simulated)' },
          headers: { 'retry-after': String(fault.retryAfterSeconds ?? 1) },
        },
        log,
      );
      return;
    case 'hang':
      // Never answer; the socket stays open until the client gives up or close() destroys it.
      entry.responseStatus = null;
      log?.(`${entry.method} ${entry.path} -> hang`);
      return;
    case 'reset':
      resetSocket(req, entry, log);
      return;
    case 'malformed_json':
      entry.responseStatus = 200;
      writeJsonText(res, 200, '{"policy_id": "x", ');
      return;
    case 'raw_body': {
      const status = fault.status ?? 200;
      entry.responseStatus = status;
      const auth = headerValue(req.headers.authorization) ?? '';
      writeJsonText(res, status, (fault.body ?? '').split('{{authorization}}').join(auth));
      log?.(`${entry.method} ${entry.path} -> ${status} (raw_body)`);
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
      writeJsonText(res, 200, JSON.stringify({ ...base, padding }));
      return;
    }
  }
}
