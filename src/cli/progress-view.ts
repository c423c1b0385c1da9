/**
 * Live progress of `start --policies`, on stderr: on a terminal one line redrawn in place (a bar,
 * the counts, the rate and the ETA), otherwise a plain line every few seconds.
 */
import type { BulkProgress } from '../client';

/** `m:ss`, or `h:mm:ss` from an hour; `?` when unknown. */
export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '?';
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** Per second: one decimal below 10, whole numbers above; `-` when unknown. */
export function formatRate(perSec: number | null): string {
  if (perSec === null) return '-/s';
  return `${perSec < 10 ? perSec.toFixed(1) : Math.round(perSec)}/s`;
}

/** The counts, e.g. `started 120  already started 0  completed 80  failed 2` (`already 0` when compact). */
export function formatCounts(p: BulkProgress, compact = false): string {
  const parts = [`started ${p.started}`, `${compact ? 'already' : 'already started'} ${p.alreadyStarted}`];
  if (p.waiting) parts.push(`completed ${p.completed}`, `failed ${p.failed}`);
  if (p.startFailed > 0) parts.push(`could not start ${p.startFailed}`);
  return parts.join('  ');
}

export function formatBar(fraction: number, width: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/**
 * The terminal line: bar, done/total, counts, rate, ETA, narrower than the terminal (the bar shrinks
 * to 10, then goes; only then is the line cut).
 */
export function ttyLine(p: BulkProgress, columns = 100): string {
  const fraction = p.total === 0 ? 1 : p.done / p.total;
  const tail =
    `${p.done}/${p.total}  ${formatCounts(p, true)}  ` +
    `${formatRate(p.ratePerSec)}  ETA ${formatDuration(p.etaMs)}`;
  const barWidth = Math.min(30, columns - tail.length - 4);
  const line = barWidth >= 10 ? `${formatBar(fraction, barWidth)} ${tail}` : tail;
  return line.length < columns ? line : line.slice(0, Math.max(0, columns - 1));
}

/** A line for a log: `progress: 124/200 (62%) started 120 ...  12.3/s  ETA 0:07  elapsed 0:10`. */
export function plainLine(p: BulkProgress): string {
  const pct = p.total === 0 ? 100 : Math.floor((p.done * 100) / p.total);
  return (
    `progress: ${p.done}/${p.total} (${pct}%)  ${formatCounts(p)}  ${formatRate(p.ratePerSec)}  ` +
    `ETA ${formatDuration(p.etaMs)}  elapsed ${formatDuration(p.elapsedMs)}`
  );
}

export interface ProgressOut {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressView {
  update(progress: BulkProgress): void;
  /** The last state, and the line ended. */
  finish(progress: BulkProgress): void;
}

export function createProgressView(
  out: ProgressOut,
  opts: { plainEveryMs?: number; redrawEveryMs?: number; now?: () => number } = {},
): ProgressView {
  const now = opts.now ?? Date.now;
  const every = out.isTTY ? (opts.redrawEveryMs ?? 100) : (opts.plainEveryMs ?? 5000);
  let last = -Infinity;
  const draw = (p: BulkProgress) => {
    // A terminal of unknown size (columns 0, e.g. a pty nobody sized) is drawn 100 wide.
    if (out.isTTY) out.write(`\r${ttyLine(p, out.columns || 100)}\x1b[K`);
    else out.write(`${plainLine(p)}\n`);
  };
  return {
    update(p) {
      const t = now();
      if (t - last < every) return;
      last = t;
      draw(p);
    },
    finish(p) {
      draw(p);
      if (out.isTTY) out.write('\n');
    },
  };
}
