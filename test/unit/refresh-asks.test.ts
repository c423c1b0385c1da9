import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RefreshAskCoalescer } from '../../src/activities/refresh-asks';

/** A send whose every call is answered by the test. */
function controlledSend() {
  const calls: {
    count: number;
    pacedMs: number;
    askedAt: number;
    resolve: () => void;
    reject: (e: unknown) => void;
  }[] = [];
  const send = (count: number, pacedMs: number, askedAt: number) =>
    new Promise<void>((resolve, reject) => {
      calls.push({ count, pacedMs, askedAt, resolve, reject });
    });
  return { send, calls };
}

/** Settles promise callbacks queued by the fake clock. */
const flush = () => vi.advanceTimersByTimeAsync(0);

describe('RefreshAskCoalescer', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('sends a lone ask at once and resolves it only when the signal is delivered', async () => {
    const { send, calls } = controlledSend();
    const c = new RefreshAskCoalescer(send, 1000);
    let done = false;
    const p = c.ask().then(() => (done = true));
    await flush();
    expect(calls.map((x) => x.count)).toEqual([1]);
    expect(done).toBe(false);
    calls[0]!.resolve();
    await p;
    expect(done).toBe(true);
  });

  it('a burst becomes one signal per interval carrying the count; every ask waits for its own signal', async () => {
    const { send, calls } = controlledSend();
    const c = new RefreshAskCoalescer(send, 1000);
    const first = c.ask();
    await flush();
    calls[0]!.resolve();
    await first;
    const settled: number[] = [];
    const burstStartedAt = Date.now();
    const burst = Array.from({ length: 9 }, (_, i) => c.ask().then(() => settled.push(i)));
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toHaveLength(1); // still inside the interval
    await vi.advanceTimersByTimeAsync(1);
    expect(calls.map((x) => x.count)).toEqual([1, 9]);
    // The lone first ask went at once; the burst's signal was held back, and says so.
    expect(calls.map((x) => x.pacedMs)).toEqual([0, 1000]);
    // Each signal says when its first ask was made: the held-back one, before it was sent.
    expect(calls[1]!.askedAt).toBe(burstStartedAt);
    expect(Date.now() - calls[1]!.askedAt).toBe(1000);
    expect(settled).toEqual([]);
    calls[1]!.resolve();
    await Promise.all(burst);
    expect(settled).toHaveLength(9);
    expect(c.signalsSent).toBe(2);
  });

  it('never has two signals in flight: asks made during a slow send go out after it', async () => {
    const { send, calls } = controlledSend();
    const c = new RefreshAskCoalescer(send, 100);
    const a = c.ask();
    await flush();
    const b = [c.ask(), c.ask()];
    await vi.advanceTimersByTimeAsync(5000);
    expect(calls).toHaveLength(1);
    calls[0]!.resolve();
    await a;
    await vi.advanceTimersByTimeAsync(0);
    expect(calls.map((x) => x.count)).toEqual([1, 2]); // the interval had long passed: sent at once
    calls[1]!.resolve();
    await Promise.all(b);
  });

  it('a failed signal rejects exactly the asks it carried; later asks go through', async () => {
    const { send, calls } = controlledSend();
    const c = new RefreshAskCoalescer(send, 10);
    const failed = [c.ask(), c.ask()];
    const outcomes = failed.map((p) =>
      p.then(
        () => 'ok',
        (e: Error) => e.message,
      ),
    );
    await flush();
    calls[0]!.reject(new Error('temporal unavailable'));
    expect(await Promise.all(outcomes)).toEqual(['temporal unavailable', 'temporal unavailable']);
    const later = c.ask();
    await vi.advanceTimersByTimeAsync(10);
    expect(calls.map((x) => x.count)).toEqual([2, 1]);
    calls[1]!.resolve();
    await expect(later).resolves.toBeUndefined();
  });

  it('a send that throws synchronously rejects its batch instead of crashing the worker', async () => {
    const c = new RefreshAskCoalescer(() => {
      throw new Error('boom');
    }, 10);
    const outcome = expect(c.ask()).rejects.toThrow('boom');
    await flush();
    await outcome;
  });
});
