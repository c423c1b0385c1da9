/**
 * The circuit breaker (cockatiel, in the worker) and the rate limit (Temporal's task-queue activity
 * rate limit, POLICY_API_MAX_RPS).
 */
import type { Scenario, ScenarioContext } from '../lib/scenario';
import { COMPLETED, firstSuccessAfter, policyFor, stream, throughOutage } from './common';

const THRESHOLD = 5;
const HALF_OPEN_MS = 3000;
/** A retry budget that outlasts the outage: the executions must ride it out and complete. */
const PATIENT_RETRY = { maximumAttempts: 60, initialIntervalMs: 500, maximumIntervalMs: 3000 };

function breakerScenario(enabled: boolean): Scenario {
  return {
    name: enabled ? 'circuit-breaker' : 'circuit-breaker-off',
    title: enabled
      ? `API answers 503 for 30 s: the breaker (${THRESHOLD} failures, half-open after ${HALF_OPEN_MS / 1000} s) bounds requests per minute, recovers on its own, all complete`
      : 'control, not a guarantee: the same outage with the breaker turned off (requests per minute without it)',
    settleMs: 240_000,
    // Per worker: the failures that open it, one half-open trial per interval, a few in flight.
    deadApiBoundPerMinute: enabled ? () => THRESHOLD + Math.ceil(60_000 / HALF_OPEN_MS) + 5 : undefined,
    async run(ctx: ScenarioContext) {
      await ctx.startWorkers(1, {
        POLICY_API_BREAKER_THRESHOLD: String(enabled ? THRESHOLD : 0),
        POLICY_API_BREAKER_HALF_OPEN_MS: String(HALF_OPEN_MS),
      });
      // Long executions (a poll every second, ready on the 12th), so all of them are mid-flight when
      // the API goes down and keep needing it through the outage.
      ctx.defaults = {
        ...ctx.defaults,
        pollIntervalMs: ctx.n(1000, 500),
        maxPolls: 15,
        retry: PATIENT_RETRY,
      };
      ctx.sim.setDefaultScript({ statuses: [...Array<string>(ctx.n(11, 5)).fill('pending'), 'ready'] });
      const n = ctx.n(30, 5);
      await stream(ctx, n, 5, () =>
        ctx.start({ ...policyFor(ctx), expect: COMPLETED, label: 'through the outage' }),
      );
      await ctx.waitFor(
        'every execution polling',
        () =>
          new Set(
            ctx.sim
              .requests()
              .filter((r) => r.op === 'status')
              .map((r) => r.policyId),
          ).size >= n,
        120_000,
      );
      ctx.setDown(true, '503');
      await ctx.sleep(ctx.n(30_000, 6_000));
      ctx.setDown(false);
      const back = Date.now();
      await ctx.waitFor(
        'a successful request after the outage',
        () => firstSuccessAfter(ctx, back) !== null,
        60_000,
      );
      ctx.metrics.recovery_ms = firstSuccessAfter(ctx, back);
    },
    after(ctx, data) {
      const through = throughOutage(ctx, data.requests);
      ctx.metrics.executions_through_outage = through;
      // The figures mean something only if the executions really needed the API during the outage.
      return through >= ctx.executions.length * 0.8
        ? []
        : [`only ${through} of ${ctx.executions.length} executions were in flight through the outage`];
    },
  };
}

export const circuitBreaker = breakerScenario(true);
export const circuitBreakerOff = breakerScenario(false);

/** Low enough that 3 workers would go well past it without the cap (other scenarios peak at 15-30/s). */
const MAX_RPS = 4;

export const rateLimit: Scenario = {
  name: 'rate-limit',
  title: `POLICY_API_MAX_RPS=${MAX_RPS} across 3 workers: API requests per second stay under the cap`,
  settleMs: 300_000,
  async run(ctx) {
    await ctx.startWorkers(ctx.n(3, 2), { POLICY_API_MAX_RPS: String(MAX_RPS) });
    ctx.defaults = { ...ctx.defaults, pollIntervalMs: 0, maxPolls: 1 };
    // All at once: without the cap the workers would go as fast as they can.
    await Promise.all(
      Array.from({ length: ctx.n(30, 8) }, () =>
        ctx.start({ ...policyFor(ctx), expect: COMPLETED, label: 'burst' }),
      ),
    );
  },
  after(ctx, data) {
    const times = data.requests.map((r) => Date.parse(r.at)).sort((a, b) => a - b);
    const windowMax = (width: number) => {
      let best = 0;
      let lo = 0;
      for (let hi = 0; hi < times.length; hi++) {
        while ((times[hi] ?? 0) - (times[lo] ?? 0) >= width) lo++;
        best = Math.max(best, hi - lo + 1);
      }
      return best;
    };
    const per1s = windowMax(1000);
    const per10s = windowMax(10_000);
    ctx.metrics.cap_per_second = MAX_RPS;
    ctx.metrics.max_requests_in_1s = per1s;
    ctx.metrics.max_requests_in_10s = per10s;
    const span = times.length > 1 ? ((times[times.length - 1] ?? 0) - (times[0] ?? 0)) / 1000 : 0;
    ctx.metrics.mean_requests_per_second = span > 0 ? Math.round((times.length / span) * 10) / 10 : null;
    // The busiest 10 s (the cap binds there): how close the rate came to the cap.
    ctx.metrics.busiest_10s_requests_per_second = per10s / 10;
    const violations: string[] = [];
    // Temporal's limiter is a token bucket (per task-queue partition) that may hold up to a second's
    // worth, and requests reach the API with some jitter after their activity was dispatched: allow
    // 3x the cap in a single second and 1.25x the cap over any 10 s (measured: ~1.15x).
    if (per1s > 3 * MAX_RPS) violations.push(`${per1s} API requests in one second, cap ${MAX_RPS}/s`);
    if (per10s > 12.5 * MAX_RPS) violations.push(`${per10s} API requests in 10 seconds, cap ${MAX_RPS}/s`);
    return violations;
  },
};
