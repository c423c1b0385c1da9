/**
 * Bulk progress without a server: counts, the rate over the recent window and the ETA on a fake
 * clock, their formatting (terminal line, plain line, summary) and the concurrency limit.
 */
import { describe, expect, it } from 'vitest';
import { ProgressTracker, type BulkItemResult } from '../../src/client';
import { createLimit } from '../../src/client/limit';
import { formatBulkSummary } from '../../src/cli/bulk-summary';
import {
  createProgressView,
  formatBar,
  formatDuration,
  formatRate,
  plainLine,
  ttyLine,
} from '../../src/cli/progress-view';

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe('progress: rate and ETA', () => {
  it('without waiting an input is done once its start is answered', () => {
    const c = clock();
    const p = new ProgressTracker(10, false, c.now);
    expect(p.snapshot()).toMatchObject({ done: 0, ratePerSec: null, etaMs: null, elapsedMs: 0 });
    c.advance(1000);
    p.record('started');
    p.record('alreadyStarted');
    c.advance(1000);
    p.record('startFailed');
    p.record('started');
    const s = p.snapshot();
    expect(s).toMatchObject({ started: 2, alreadyStarted: 1, startFailed: 1, done: 4, elapsedMs: 2000 });
    expect(s.ratePerSec).toBeCloseTo(2); // 4 in 2 s
    expect(s.etaMs).toBeCloseTo(3000); // 6 left at 2/s
  });

  it('when waiting, an input is done when its execution ended (or could not start)', () => {
    const c = clock();
    const p = new ProgressTracker(4, true, c.now);
    p.record('started');
    p.record('started');
    p.record('startFailed');
    c.advance(2000);
    expect(p.snapshot()).toMatchObject({ done: 1 });
    p.record('completed');
    p.record('failed');
    expect(p.snapshot()).toMatchObject({ done: 3, completed: 1, failed: 1 });
    p.record('started');
    p.record('completed');
    expect(p.snapshot()).toMatchObject({ done: 4, etaMs: 0 });
  });

  it('the rate follows the last 30 s, not the whole run', () => {
    const c = clock();
    const p = new ProgressTracker(1000, false, c.now);
    // 60 s at 1/s ...
    for (let i = 0; i < 60; i++) {
      c.advance(1000);
      p.record('started');
    }
    expect(p.snapshot().ratePerSec).toBeCloseTo(1);
    // ... then 30 s at 10/s: the window sees only the fast part.
    for (let i = 0; i < 300; i++) {
      c.advance(100);
      p.record('started');
    }
    const s = p.snapshot();
    expect(s.ratePerSec).toBeCloseTo(10, 0);
    expect(s.etaMs).toBeCloseTo((640 / s.ratePerSec!) * 1000, -2);
    // Nothing for a whole window: no rate, no ETA.
    c.advance(31_000);
    expect(p.snapshot()).toMatchObject({ ratePerSec: 0, etaMs: null });
  });
});

describe('progress: formatting', () => {
  it('durations, rates and the bar', () => {
    expect(formatDuration(null)).toBe('?');
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(7_400)).toBe('0:07');
    expect(formatDuration(62_000)).toBe('1:02');
    expect(formatDuration(3_723_000)).toBe('1:02:03');
    expect(formatRate(null)).toBe('-/s');
    expect(formatRate(2.345)).toBe('2.3/s');
    expect(formatRate(123.6)).toBe('124/s');
    expect(formatBar(0.5, 10)).toBe('[#####.....]');
    expect(formatBar(2, 4)).toBe('[####]');
  });

  const snapshot = {
    total: 200,
    started: 120,
    alreadyStarted: 0,
    startFailed: 0,
    completed: 80,
    failed: 2,
    waiting: true,
    done: 82,
    elapsedMs: 10_000,
    ratePerSec: 8.2,
    etaMs: 14_390,
  };

  it('the terminal line and the plain line', () => {
    const line = ttyLine(snapshot, 120);
    expect(line).toBe(
      `[${'#'.repeat(12)}${'.'.repeat(18)}] 82/200  started 120  already 0  completed 80  failed 2  8.2/s  ETA 0:14`,
    );
    // Narrow: the bar shrinks, then goes; the ETA stays.
    expect(ttyLine(snapshot, 90)).toMatch(/^\[#+\.+\] 82\/200 .* ETA 0:14$/);
    expect(ttyLine(snapshot, 80)).toBe(
      '82/200  started 120  already 0  completed 80  failed 2  8.2/s  ETA 0:14',
    );
    expect(ttyLine(snapshot, 40)).toHaveLength(39);
    expect(plainLine(snapshot)).toBe(
      'progress: 82/200 (41%)  started 120  already started 0  completed 80  failed 2  8.2/s  ETA 0:14  elapsed 0:10',
    );
    expect(plainLine({ ...snapshot, waiting: false, startFailed: 3 })).toMatch(
      /started 120 {2}already started 0 {2}could not start 3 {2}8\.2\/s/,
    );
  });

  it('a terminal gets one line redrawn in place; a log gets a line every few seconds', () => {
    const c = clock();
    const tty: string[] = [];
    const view = createProgressView({ write: (s) => tty.push(s), isTTY: true, columns: 120 }, { now: c.now });
    view.update(snapshot);
    view.update(snapshot); // within 100 ms: not redrawn
    c.advance(150);
    view.update(snapshot);
    view.finish(snapshot);
    expect(tty).toHaveLength(4);
    expect(tty.slice(0, 3).every((s) => s.startsWith('\r') && s.endsWith('\x1b[K'))).toBe(true);
    expect(tty[3]).toBe('\n');

    const log: string[] = [];
    const plain = createProgressView({ write: (s) => log.push(s) }, { now: c.now });
    plain.update(snapshot);
    c.advance(4000);
    plain.update(snapshot);
    c.advance(1000);
    plain.update(snapshot);
    plain.finish(snapshot);
    expect(log).toHaveLength(3);
    expect(log.every((s) => s.startsWith('progress: ') && s.endsWith('\n'))).toBe(true);
  });

  it('the summary: counts by outcome, then the failed ones with their error', () => {
    const items: BulkItemResult[] = [
      { index: 0, id: 'bulk-a-1', start: 'started', outcome: 'completed' },
      {
        index: 1,
        id: 'bulk-b-1',
        start: 'already-started',
        outcome: 'failed',
        errorMessage: 'poll policy status: failed',
      },
      { index: 2, id: 'bulk-c-1', start: 'start-failed', errorMessage: 'unavailable\n  try later' },
    ];
    const text = formatBulkSummary(items, {
      ...snapshot,
      total: 3,
      started: 1,
      alreadyStarted: 1,
      startFailed: 1,
      completed: 1,
      failed: 1,
      done: 3,
      elapsedMs: 1500,
    });
    expect(text).toBe(
      [
        'summary (3 inputs in 0:02, 2.0/s):',
        '  started          1',
        '  already started  1',
        '  could not start  1',
        '  completed        1',
        '  failed           1',
        '  total            3',
        '',
        'failed:',
        '  bulk-b-1  poll policy status: failed',
        '  bulk-c-1  could not start: unavailable try later',
      ].join('\n'),
    );
  });
});

describe('the concurrency limit', () => {
  it('never runs more than n at once, and runs every call in order', async () => {
    const limit = createLimit(3);
    let active = 0;
    let peak = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        limit(async () => {
          active++;
          peak = Math.max(peak, active);
          order.push(i);
          await new Promise((r) => setTimeout(r, 1 + (i % 4)));
          active--;
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(() => createLimit(0)).toThrow(RangeError);
  });
});
