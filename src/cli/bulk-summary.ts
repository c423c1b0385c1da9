/** The summary `start --policies` prints at the end: counts by outcome, then what failed and why. */
import type { BulkItemResult, BulkProgress } from '../client';
import { formatDuration, formatRate } from './progress-view';

/** Failed executions listed before the rest are counted. */
const MAX_LISTED = 50;

function table(rows: [string, string][]): string[] {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`);
}

export function formatBulkSummary(items: readonly BulkItemResult[], p: BulkProgress): string {
  const rows: [string, string][] = [
    ['started', String(p.started)],
    ['already started', String(p.alreadyStarted)],
  ];
  if (p.startFailed > 0) rows.push(['could not start', String(p.startFailed)]);
  if (p.waiting) rows.push(['completed', String(p.completed)], ['failed', String(p.failed)]);
  rows.push(['total', String(p.total)]);
  const overall = p.elapsedMs > 0 ? (p.done * 1000) / p.elapsedMs : null;
  const lines = [
    `summary (${p.total} input${p.total === 1 ? '' : 's'} in ${formatDuration(p.elapsedMs)}, ${formatRate(overall)}):`,
    ...table(rows),
  ];
  const failed = items.filter((i) => i.start === 'start-failed' || i.outcome === 'failed');
  if (failed.length > 0) {
    lines.push('', 'failed:');
    const listed = failed.slice(0, MAX_LISTED);
    const width = Math.max(...listed.map((i) => i.id.length));
    for (const i of listed) {
      const why = i.start === 'start-failed' ? `could not start: ${i.errorMessage}` : (i.errorMessage ?? '');
      lines.push(`  ${i.id.padEnd(width)}  ${why.replace(/\s*\n\s*/g, ' ')}`);
    }
    if (failed.length > listed.length) lines.push(`  ... and ${failed.length - listed.length} more`);
  }
  return lines.join('\n');
}
