/**
 * The upsert queue every warehouse adapter writes through (docs/design.md, decision 6): calls that
 * arrive while a batch is being written wait in memory and are coalesced into the next batch, so
 * many concurrent state writes become one statement (DuckDB: one open, one INSERT ... ON CONFLICT,
 * one close; Snowflake: one MERGE). One batch is written at a time.
 *
 * The adapter's `write(take)` gets ready first (opens the file, takes a pooled session) and only then
 * calls `take()` for the rows queued by that moment: writes that arrive while it waits join the batch.
 * If `write` fails before taking, the calls that were waiting when it started fail with its error.
 *
 * A `commitDelay` (group commit, like PostgreSQL's commit_delay and commit_siblings) makes a batch
 * wait a little before it is written, but only while many keys (executions) are writing at once: a
 * statement costs the adapter about the same for one row as for ten, so under load fewer, bigger
 * statements save CPU, while a lone execution's writes never wait.
 */

export interface BatchWriterOptions<T> {
  /** Most rows per batch (whole calls, FIFO; a single larger call is one batch of its own). */
  maxBatchRows: number;
  /**
   * Write one batch. Call `take` once, when ready, for its rows (all calls' rows in order); resolve
   * with the number of rows actually sent (e.g. after de-duplication).
   */
  write(take: () => T[]): Promise<number>;
  /** A batch failed (each of its callers gets `err` too). */
  onError?(err: unknown, calls: number): void;
  /** Every batch written or failed (e.g. for metrics). */
  onBatch?: BatchObserver;
  /** Wait `ms` before writing a batch while at least `siblings` keys submitted rows in the last `windowMs`. */
  commitDelay?: CommitDelay<T>;
}

export interface CommitDelay<T> {
  ms: number;
  siblings: number;
  windowMs: number;
  /** The key a row belongs to (e.g. its execution id). */
  keyOf(row: T): string;
}

/** One batch as it went: rows sent, calls coalesced, how long `write` took, whether it succeeded. */
export type BatchObserver = (batch: { rows: number; calls: number; durationMs: number; ok: boolean }) => void;

export interface BatchWriterStats {
  /** Batches written. */
  batches: number;
  /** Rows sent in written batches, as `write` counted them. */
  rowsWritten: number;
  /** Batches that waited `commitDelay.ms` for more rows. */
  delayedBatches: number;
}

interface PendingWrite<T> {
  rows: readonly T[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class BatchWriter<T> {
  private pending: PendingWrite<T>[] = [];
  private flushing: Promise<void> | null = null;
  private readonly inflight = new Set<Promise<void>>();
  private readonly counters: BatchWriterStats = { batches: 0, rowsWritten: 0, delayedBatches: 0 };
  /** When each recent call was submitted and the key of its first row (commitDelay only). */
  private recent: { at: number; key: string }[] = [];

  constructor(private readonly opts: BatchWriterOptions<T>) {}

  stats(): BatchWriterStats {
    return { ...this.counters };
  }

  /**
   * Queue `rows` for the next batch; resolves once the batch holding them is written. `ready` runs
   * first (e.g. the adapter's init), and its failure fails this call only.
   */
  submit(rows: readonly T[], ready?: () => Promise<void>): Promise<void> {
    const done = this.enqueue(rows, ready);
    this.inflight.add(done);
    const forget = () => this.inflight.delete(done);
    done.then(forget, forget);
    return done;
  }

  /** Resolves once every call submitted so far has settled. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
    while (this.flushing) await this.flushing;
  }

  private async enqueue(rows: readonly T[], ready?: () => Promise<void>): Promise<void> {
    if (rows.length === 0) return;
    const delay = this.opts.commitDelay;
    if (delay) this.recent.push({ at: performance.now(), key: delay.keyOf(rows[0] as T) });
    await ready?.();
    await new Promise<void>((resolve, reject) => {
      this.pending.push({ rows, resolve, reject });
      this.flushing ??= this.flushLoop();
    });
  }

  /** Drains the queue, one batch at a time, until nothing is pending. */
  private async flushLoop(): Promise<void> {
    // Let the caller store this promise in `flushing` before the loop can possibly end.
    await Promise.resolve();
    try {
      while (this.pending.length > 0) {
        if (this.shouldDelay()) {
          this.counters.delayedBatches += 1;
          await new Promise<void>((resolve) => setTimeout(resolve, this.opts.commitDelay?.ms));
        }
        await this.writeBatch();
      }
    } finally {
      // Cleared in the same microtask the loop saw an empty queue, so no write can be stranded.
      this.flushing = null;
    }
  }

  private async writeBatch(): Promise<void> {
    let batch: PendingWrite<T>[] = [];
    let taken = false;
    const waitingAtStart = this.pending.length;
    const started = performance.now();
    try {
      const rows = await this.opts.write(() => {
        if (taken) throw new Error('BatchWriter: take() called twice for one batch');
        taken = true;
        batch = this.takeBatch();
        return batch.flatMap((w) => w.rows);
      });
      this.counters.batches += 1;
      this.counters.rowsWritten += rows;
      this.opts.onBatch?.({ rows, calls: batch.length, durationMs: performance.now() - started, ok: true });
      for (const w of batch) w.resolve();
    } catch (err) {
      // If the adapter failed before taking, nothing was taken: fail the writes that were waiting
      // when this attempt started; later arrivals get their own attempt.
      const failed = taken ? batch : this.pending.splice(0, waitingAtStart);
      this.opts.onError?.(err, failed.length);
      this.opts.onBatch?.({
        rows: 0,
        calls: failed.length,
        durationMs: performance.now() - started,
        ok: false,
      });
      for (const w of failed) w.reject(err);
    }
  }

  /** Many keys wrote lately and the next batch is not full yet: let it gather more rows first. */
  private shouldDelay(): boolean {
    const delay = this.opts.commitDelay;
    if (!delay || delay.ms <= 0) return false;
    const since = performance.now() - delay.windowMs;
    let first = 0;
    while (first < this.recent.length && (this.recent[first]?.at ?? 0) < since) first += 1;
    if (first > 0) this.recent = this.recent.slice(first);
    let rows = 0;
    for (const w of this.pending) rows += w.rows.length;
    if (rows >= this.opts.maxBatchRows) return false;
    return new Set(this.recent.map((r) => r.key)).size >= delay.siblings;
  }

  /** Whole calls, FIFO, up to maxBatchRows rows (always at least one call). */
  private takeBatch(): PendingWrite<T>[] {
    const batch: PendingWrite<T>[] = [];
    let rows = 0;
    while (this.pending.length > 0) {
      const next = this.pending[0];
      if (!next || (batch.length > 0 && rows + next.rows.length > this.opts.maxBatchRows)) break;
      batch.push(next);
      rows += next.rows.length;
      this.pending.shift();
    }
    return batch;
  }
}
