/**
 * The version sampler: reads every row's (run_id, state_version, status, updated_at) every few
 * seconds while a scenario runs, and remembers any step backwards. "Backwards" is the write guard's
 * own rule (`supersedes`, src/policy/state.ts): within a run the version never drops, the status
 * never steps back and a terminal status never changes; a different run may replace the row only
 * when it wrote later (a reset or a re-run restarts or rewinds the versions, and that is not a
 * step back). The final rows are observed too.
 */
import { EXECUTION_STATUSES, supersedes, type ExecutionStatus } from '../../src/policy';
import type { RowHead, RowSource } from './row-source';

export type { RowHead };

export interface VersionRegression {
  executionId: string;
  from: RowHead;
  to: RowHead;
}

const RANK: Record<ExecutionStatus, number> = Object.fromEntries(
  EXECUTION_STATUSES.map((s, i) => [s, i]),
) as Record<ExecutionStatus, number>;

const isTerminal = (s: ExecutionStatus) => s === 'completed' || s === 'error';

/** Whether the row may go from `prev` to `next` (the same row, or a write the guard accepts). */
export function movesForward(prev: RowHead, next: RowHead): boolean {
  const sameRun = prev.run_id === null || next.run_id === null || prev.run_id === next.run_id;
  if (sameRun && next.state_version === prev.state_version) return next.status === prev.status;
  if (!supersedes(next, prev)) return false;
  if (!sameRun) return true;
  return RANK[next.status] >= RANK[prev.status] && !(isTerminal(prev.status) && prev.status !== next.status);
}

/** Every row's (run, version, status) read every `intervalMs`; any step backwards is remembered. */
export class StateSampler {
  readonly regressions: VersionRegression[] = [];
  samples = 0;
  skipped = 0;
  /** The latest head of every row, and when the sampler first saw it. */
  private readonly last = new Map<string, { head: RowHead; seenAt: number }>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;

  constructor(
    private readonly source: RowSource,
    private readonly intervalMs = 2000,
  ) {}

  start(): void {
    const tick = () => {
      this.running = this.sample().finally(() => {
        this.running = null;
        if (this.timer !== null) this.timer = setTimeout(tick, this.intervalMs);
      });
    };
    this.timer = setTimeout(tick, this.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
    // One last look, so the final rows are compared with the last sample too.
    await this.sample();
  }

  /** The row as last seen (sampled or observed), and when it was first seen so. */
  latest(id: string): { head: RowHead; seenAt: number } | undefined {
    return this.last.get(id);
  }

  /** Also used for the final rows: they must not be behind anything sampled. */
  observe(row: RowHead): void {
    const prev = this.last.get(row.execution_id)?.head;
    if (prev && !movesForward(prev, row)) {
      this.regressions.push({ executionId: row.execution_id, from: prev, to: { ...row } });
    }
    if (!prev || supersedes(row, prev))
      this.last.set(row.execution_id, { head: { ...row }, seenAt: Date.now() });
  }

  /** One read of every row now (also between samples, e.g. while waiting for the reconciler). */
  async sample(): Promise<boolean> {
    try {
      const rows = await this.source.readHeads();
      if (rows === null) return false;
      this.samples += 1;
      for (const r of rows) this.observe(r);
      return true;
    } catch {
      this.skipped += 1; // busy (another process holds the file), unreachable, or no table yet
      return false;
    }
  }
}
