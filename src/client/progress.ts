/**
 * Progress of a bulk start: counts by outcome, the rate at which inputs finish and the time left.
 * An input is finished when its start was answered (started, already started, could not start)
 * or, when the run waits for the executions, when its execution ended (completed, failed) or could
 * not start. The rate is measured over the last `windowMs` (30 s) so the ETA follows a rate that
 * changes; before any input finishes it is unknown.
 */

export interface BulkCounts {
  total: number;
  /** Started by this run. */
  started: number;
  /** Their id was started before (by an earlier run of the same input, or running now). */
  alreadyStarted: number;
  /** The start failed (not for an id already started). */
  startFailed: number;
  /** Ended `completed` (only when waiting). */
  completed: number;
  /** Ended failed (only when waiting). */
  failed: number;
}

export interface BulkProgress extends BulkCounts {
  /** Whether executions are followed to their end. */
  waiting: boolean;
  /** Inputs finished (see the module comment), 0..total. */
  done: number;
  elapsedMs: number;
  /** Inputs finished per second over the recent window; null before the first. */
  ratePerSec: number | null;
  /** Time left at that rate; null while unknown (no rate yet, or none in the window). */
  etaMs: number | null;
}

export type BulkEvent = 'started' | 'alreadyStarted' | 'startFailed' | 'completed' | 'failed';

interface Sample {
  t: number;
  done: number;
}

export class ProgressTracker {
  private readonly counts: BulkCounts;
  private readonly startedAt: number;
  /** (time, done) at every change within the window, plus the last one before it. */
  private samples: Sample[];

  constructor(
    total: number,
    private readonly waiting: boolean,
    private readonly now: () => number = Date.now,
    private readonly windowMs = 30_000,
  ) {
    this.counts = { total, started: 0, alreadyStarted: 0, startFailed: 0, completed: 0, failed: 0 };
    this.startedAt = now();
    this.samples = [{ t: this.startedAt, done: 0 }];
  }

  record(event: BulkEvent): void {
    this.counts[event] += 1;
    const t = this.now();
    this.samples.push({ t, done: this.done() });
    // Keep the newest sample at or before the window's start as the anchor.
    const from = t - this.windowMs;
    let anchor = 0;
    while (anchor + 1 < this.samples.length && (this.samples[anchor + 1] as Sample).t <= from) anchor++;
    if (anchor > 0) this.samples = this.samples.slice(anchor);
  }

  private done(): number {
    const c = this.counts;
    return this.waiting
      ? c.completed + c.failed + c.startFailed
      : c.started + c.alreadyStarted + c.startFailed;
  }

  snapshot(): BulkProgress {
    const t = this.now();
    const done = this.done();
    const from = t - this.windowMs;
    // The rate over [anchor, now]: the anchor is the newest sample at or before the window's start,
    // or the run's start while the run is younger than the window.
    let anchor = this.samples[0] as Sample;
    for (const s of this.samples) if (s.t <= from) anchor = s;
    const span = t - anchor.t;
    const ratePerSec = done === 0 || span <= 0 ? null : ((done - anchor.done) * 1000) / span;
    const left = this.counts.total - done;
    const etaMs = left === 0 ? 0 : ratePerSec ? (left / ratePerSec) * 1000 : null;
    return { ...this.counts, waiting: this.waiting, done, elapsedMs: t - this.startedAt, ratePerSec, etaMs };
  }
}
