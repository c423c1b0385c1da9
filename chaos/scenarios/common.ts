import type { RequestLogEntry } from '../../devtools/simulator/server';
import { samplePolicy } from '../../test/fixtures/corpora/bad-input';
import type { Execution, Expect, ScenarioContext } from '../lib/scenario';

export { samplePolicy };

export const COMPLETED: Expect = { status: 'completed' };

/** The guide's sample policy under a fresh policy id (the simulator scripts per policy id). */
export function policyFor(
  ctx: ScenarioContext,
  patch: Record<string, unknown> = {},
): { pid: string; policy: Record<string, unknown> } {
  const pid = ctx.uid('pol');
  return { pid, policy: { ...samplePolicy(pid), ...patch } };
}

/** Starts `n` executions, `perSecond` of them a second (a steady stream rather than one burst). */
export async function stream(
  ctx: ScenarioContext,
  n: number,
  perSecond: number,
  startOne: (i: number) => Promise<Execution>,
): Promise<Execution[]> {
  const out: Execution[] = [];
  const gap = 1000 / perSecond;
  const t0 = Date.now();
  for (let i = 0; i < n; i++) {
    const wait = t0 + i * gap - Date.now();
    if (wait > 0) await ctx.sleep(wait);
    out.push(await startOne(i));
  }
  return out;
}

/** The first answered (2xx) API request at or after `since`, in ms after `since`; null if none. */
export function firstSuccessAfter(ctx: ScenarioContext, since: number): number | null {
  const ok = ctx.sim
    .requests()
    .filter((r) => r.responseStatus !== null && r.responseStatus < 300 && Date.parse(r.at) >= since)
    .map((r) => Date.parse(r.at) - since);
  return ok.length > 0 ? Math.min(...ok) : null;
}

/** Error messages the API steps end with when the API stayed unreachable. */
export const UNREACHABLE =
  /^(create policy|poll policy status|trigger circuit breaker): (policy API circuit breaker is open|network error|timed out|activity timed out|HTTP 503)/;

/**
 * Executions that were mid-flight across the whole outage (an API request before it and after it),
 * so the dead-API figures measured real traffic, not an idle worker.
 */
export function throughOutage(ctx: ScenarioContext, requests: RequestLogEntry[]): number {
  const w = ctx.downWindows[0];
  if (!w || w.to === null) return 0;
  const span = new Map<string, { first: number; last: number }>();
  for (const r of requests) {
    if (r.policyId === null) continue;
    const t = Date.parse(r.at);
    const s = span.get(r.policyId);
    span.set(
      r.policyId,
      s ? { first: Math.min(s.first, t), last: Math.max(s.last, t) } : { first: t, last: t },
    );
  }
  let n = 0;
  for (const s of span.values()) if (s.first < w.from && s.last > w.to) n += 1;
  return n;
}
