/**
 * State of the policy API simulator: the scripts (per policy id and default), the per-policy state
 * (created, polls, own fault slots, counters), the stored idempotent replies, the request log and
 * the global counters. `reset()` clears all of it.
 */
import { slotsFor, type FaultSlot } from './faults';
import type { Reply } from './io';
import type { PolicyCounters, PolicyScript, RequestLogEntry, RequestOp, SimulatorStats } from './types';

export interface PolicyState {
  id: string;
  /** The per-id script, if one was set; otherwise the default script applies. */
  scripted: PolicyScript | null;
  faults: FaultSlot[];
  created: boolean;
  executionId: string | null;
  polls: number;
  counters: PolicyCounters;
}

/** A stored idempotent reply, with the policy it was about. */
export type StoredReply = Reply & { policyId: string | null };

function zeroCounters(): PolicyCounters {
  return { creates: 0, createRequests: 0, statusRequests: 0, circuitRequests: 0, circuitTriggers: 0 };
}

function zeroTotals(): Omit<SimulatorStats, 'perPolicy'> {
  return { ...zeroCounters(), idempotentReplays: 0, httpbinRequests: 0, faultsInjected: 0 };
}

export class SimState {
  scripts = new Map<string, PolicyScript>();
  defaultScript: PolicyScript = {};
  policies = new Map<string, PolicyState>();
  /** Keyed `create:<key>` / `circuit:<key>` by Idempotency-Key. */
  idempotent = new Map<string, StoredReply>();
  log: RequestLogEntry[] = [];
  totals = zeroTotals();
  private seq = 0;

  /** `defaultLatencyMs`: latency for every request unless a script says otherwise. */
  constructor(private readonly defaultLatencyMs: number) {}

  /** The next request's sequence number (1, 2, ...). */
  nextSeq(): number {
    return ++this.seq;
  }

  /** The state of a policy id, created (from its script or the default script) on first use. */
  policyState(id: string): PolicyState {
    let st = this.policies.get(id);
    if (st === undefined) {
      const scripted = this.scripts.get(id) ?? null;
      st = {
        id,
        scripted,
        faults: slotsFor((scripted ?? this.defaultScript).faults),
        created: false,
        executionId: null,
        polls: 0,
        counters: zeroCounters(),
      };
      this.policies.set(id, st);
    }
    return st;
  }

  latencyFor(st: PolicyState | null): number {
    return st?.scripted?.latencyMs ?? this.defaultScript.latencyMs ?? this.defaultLatencyMs;
  }

  statusesFor(st: PolicyState): string[] {
    return st.scripted?.statuses ?? this.defaultScript.statuses ?? ['success'];
  }

  /** Sets a (validated) script for an id; a known policy restarts its status script and faults. */
  scriptPolicy(id: string, s: PolicyScript): void {
    this.scripts.set(id, s);
    const st = this.policies.get(id);
    if (st) {
      st.scripted = s;
      st.faults = slotsFor(s.faults);
      st.polls = 0;
    }
  }

  countRequest(op: RequestOp, st: PolicyState | null): void {
    const field =
      op === 'create'
        ? 'createRequests'
        : op === 'status'
          ? 'statusRequests'
          : op === 'circuit'
            ? 'circuitRequests'
            : null;
    if (op === 'httpbin_get' || op === 'httpbin_post') this.totals.httpbinRequests += 1;
    if (field === null) return;
    this.totals[field] += 1;
    if (st) st.counters[field] += 1;
  }

  /** Copies of the logged requests (of one policy id when filtered). */
  requests(filter?: { policyId?: string }): RequestLogEntry[] {
    const entries =
      filter?.policyId !== undefined
        ? this.log.filter((e) => e.policyId === filter.policyId)
        : this.log.slice();
    return entries.map((e) => structuredClone(e));
  }

  stats(): SimulatorStats {
    const perPolicy: Record<string, PolicyCounters> = {};
    for (const [id, st] of this.policies) perPolicy[id] = { ...st.counters };
    return { ...this.totals, perPolicy };
  }

  clearLog(): void {
    this.log = [];
  }

  reset(): void {
    this.scripts = new Map();
    this.defaultScript = {};
    this.policies = new Map();
    this.idempotent = new Map();
    this.log = [];
    this.seq = 0;
    this.totals = zeroTotals();
  }
}
