import { describe, expect, it } from 'vitest';
import { askCount, askedAt, batchDueAt, quietAfter } from '../../src/policy/refresh-batch';

describe('when the refresher runs dbt for its asks', () => {
  const debounceMs = 1000;
  const maxWaitMs = 10_000;

  it('counts what a signal carries, and 1 for anything else', () => {
    expect(askCount({ count: 7 })).toBe(7);
    for (const ask of [undefined, {}, { count: 0 }, { count: -3 }, { count: 1.5 }, { count: Number.NaN }])
      expect(askCount(ask)).toBe(1);
  });

  it('a lone ask: the debounce after it', () => {
    expect(quietAfter({ count: 1 }, debounceMs, maxWaitMs)).toBe(1000);
    expect(quietAfter(undefined, debounceMs, maxWaitMs)).toBe(1000);
    expect(batchDueAt({ firstAskAt: 0, lastAskAt: 0, quietMs: 1000, maxWaitMs })).toBe(1000);
  });

  it('a paced ask: its pace plus the debounce, so a burst runs every maxWaitMs, not after every signal', () => {
    const quietMs = quietAfter({ count: 40, pacedMs: 5000 }, debounceMs, maxWaitMs);
    expect(quietMs).toBe(6000);
    // Signals of a burst 5 s apart: the gap before the next one is not taken for asks that stopped.
    expect(batchDueAt({ firstAskAt: 0, lastAskAt: 5000, quietMs, maxWaitMs })).toBe(10_000);
    // The burst's last signal: due its pace plus the debounce after it, or maxWaitMs after the first.
    expect(batchDueAt({ firstAskAt: 0, lastAskAt: 2000, quietMs, maxWaitMs })).toBe(8000);
  });

  it('a pace never pushes a batch past maxWaitMs, and a bad pace counts as none', () => {
    expect(quietAfter({ pacedMs: 60_000 }, debounceMs, maxWaitMs)).toBe(11_000);
    for (const pacedMs of [-5, Number.POSITIVE_INFINITY, Number.NaN, 0])
      expect(quietAfter({ pacedMs }, debounceMs, maxWaitMs)).toBe(1000);
    expect(batchDueAt({ firstAskAt: 0, lastAskAt: 9000, quietMs: 11_000, maxWaitMs })).toBe(10_000);
  });

  it('maxWaitMs counts from when the first ask was made, not from when the refresher saw it', () => {
    // An ask made at 0 that reached the refresher at 12 s (held back by its worker, then a workflow
    // task Temporal lost and retried after its timeout): the batch is already due.
    const first = askedAt({ count: 3, pacedMs: 5000, askedAt: 1_000 }, 12_000);
    expect(first).toBe(1_000);
    expect(batchDueAt({ firstAskAt: first, lastAskAt: 12_000, quietMs: 6000, maxWaitMs })).toBe(11_000);
    // Without the field (older workers), or with a bad one: when it was seen.
    for (const ask of [undefined, {}, { askedAt: -1 }, { askedAt: Number.NaN }, { askedAt: '5' }])
      expect(askedAt(ask, 12_000)).toBe(12_000);
    // A sender's clock ahead of the refresher's never pushes the batch later.
    expect(askedAt({ askedAt: 20_000 }, 12_000)).toBe(12_000);
  });
});
