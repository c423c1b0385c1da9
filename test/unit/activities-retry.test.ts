/**
 * How API failures turn into Temporal retries (two bugs the chaos suite found):
 *   - an open circuit breaker must not make retries come sooner than the retry policy's backoff
 *     (it used to retry every half-open interval and spent an execution's attempts in ~40 s, so every
 *     execution in flight failed during a one-minute outage);
 *   - a huge Retry-After is honoured only up to a bound (86400 used to park an execution for a day).
 * Real client, real (dead) socket, real breaker; Temporal's activity context from its test kit.
 */
import net from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import {
  createActivities,
  MAX_RETRY_AFTER_MS,
  retryTiming,
  toApplicationFailure,
} from '../../src/activities';
import { createPolicyApiClient } from '../../src/policy-api/client';
import { PolicyApiError } from '../../src/policy-api/types';
import type { Warehouse } from '../../src/warehouse/types';

const QUIET = { logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } };
const POLICY = { retryPolicy: { initialInterval: 1000, backoffCoefficient: 2, maximumInterval: 20_000 } };

function http429(retryAfterMs: number): PolicyApiError {
  return new PolicyApiError({
    step: 'poll_status',
    kind: 'http',
    retryable: true,
    httpStatus: 429,
    retryAfterMs,
    message: 'poll policy status: HTTP 429 Too Many Requests',
  });
}

/** A port nothing listens on: connections are refused, like a dead API. */
async function deadPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('retry timing', () => {
  it.each([
    [1, 1000],
    [3, 4000],
    [5, 16_000],
    [9, 20_000],
  ])('attempt %i waits %i ms under the default-shaped policy', async (attempt, backoff) => {
    const env = new MockActivityEnvironment({ attempt, ...POLICY }, QUIET);
    expect(await env.run(async () => Promise.resolve(retryTiming()))).toEqual({
      backoffMs: backoff,
      maximumIntervalMs: 20_000,
    });
  });

  it('is undefined outside an activity', () => {
    expect(retryTiming()).toBeUndefined();
  });

  it('Retry-After is honoured up to the bound (or the maximum interval, when longer)', () => {
    const delay = (ms: number, max: number) =>
      (
        toApplicationFailure(http429(ms), 5000, {
          backoffMs: 1000,
          maximumIntervalMs: max,
        }) as ApplicationFailure
      ).nextRetryDelay;
    expect(delay(1000, 20_000)).toBe(1000);
    expect(delay(86_400_000, 20_000)).toBe(MAX_RETRY_AFTER_MS);
    expect(delay(86_400_000, 600_000)).toBe(600_000);
  });
});

describe('an open circuit breaker', () => {
  it('fails fast without a request, and the next attempt is no sooner than the backoff', async () => {
    const port = await deadPort();
    const api = createPolicyApiClient({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 1000 });
    const warehouse = {} as Warehouse; // not used by the API activities
    const acts = createActivities({ api, warehouse, breaker: { threshold: 2, halfOpenAfterMs: 5000 } });
    const call = (attempt: number) =>
      new MockActivityEnvironment({ attempt, ...POLICY }, QUIET)
        .run((input: { policyId: string }) => acts.getPolicyStatus(input), { policyId: 'p' })
        .then(
          () => undefined,
          (e: unknown) => e as ApplicationFailure,
        );
    try {
      // Two refused connections open the breaker.
      expect((await call(1))?.type).toBe('PolicyApiError.network');
      expect((await call(2))?.type).toBe('PolicyApiError.network');
      // Early attempt: the half-open interval is the longer wait.
      const early = await call(3);
      expect(early?.type).toBe('PolicyApiError.circuit_open');
      expect(early?.nextRetryDelay).toBe(5000);
      // Later attempt: the retry policy's backoff (16 s) wins; it used to be 5 s every time.
      const late = await call(5);
      expect(late?.type).toBe('PolicyApiError.circuit_open');
      expect(late?.nextRetryDelay).toBe(16_000);
    } finally {
      await api.close();
    }
  });
});
