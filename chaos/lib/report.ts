/** chaos/results/latest.json and the readable summary table. */
import fs from 'node:fs';
import path from 'node:path';
import type { ChaosReport } from './runner';

const COLUMNS = [
  'scenario',
  'executions',
  'completed',
  'errored (as expected)',
  'lost',
  'duplicate creates',
  'duplicate circuit breakers',
  'secrets found',
  'max req/min to dead API',
  'peak API req/s',
  'result',
] as const;

export function summaryTable(report: ChaosReport): string {
  const rows: string[][] = report.scenarios.map((s) => {
    const c = s.counts;
    return [
      s.name,
      String(c.executions),
      String(c.completed),
      `${c.errored} (${c.erroredAsExpected})`,
      String(c.lost),
      String(c.duplicateCreates),
      String(c.duplicateCircuitBreakers),
      String(c.secretsFound),
      c.maxDeadApiRequestsPerMinute === null ? '-' : String(c.maxDeadApiRequestsPerMinute),
      String(c.peakApiRequestsPerSecond),
      s.pass ? 'pass' : `FAIL (${s.violations.length})`,
    ];
  });
  const sum = (f: (s: ChaosReport['scenarios'][number]) => number) =>
    report.scenarios.reduce((n, s) => n + f(s), 0);
  rows.push([
    'total',
    String(report.totalExecutions),
    String(sum((s) => s.counts.completed)),
    `${sum((s) => s.counts.errored)} (${sum((s) => s.counts.erroredAsExpected)})`,
    String(sum((s) => s.counts.lost)),
    String(sum((s) => s.counts.duplicateCreates)),
    String(sum((s) => s.counts.duplicateCircuitBreakers)),
    String(sum((s) => s.counts.secretsFound)),
    '',
    '',
    report.pass ? 'pass' : 'FAIL',
  ]);
  const widths = COLUMNS.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  const out = [
    line(COLUMNS),
    `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
  ];
  for (const r of rows) out.push(line(r));
  return out.join('\n');
}

export function renderReport(report: ChaosReport): string {
  const parts = [
    `# chaos run ${report.startedAt} (${report.size}): ${report.pass ? 'PASS' : 'FAIL'}`,
    '',
    `${report.totalExecutions} executions in ${Math.round(report.durationMs / 1000)} s.`,
    '',
    summaryTable(report),
    '',
  ];
  for (const s of report.scenarios) {
    const metrics = Object.entries(s.metrics)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(', ');
    parts.push(`- **${s.name}** (${Math.round(s.durationMs / 1000)} s): ${s.title}. ${metrics}`);
    for (const v of s.violations.slice(0, 15)) parts.push(`  - VIOLATION: ${v}`);
    if (s.violations.length > 15) parts.push(`  - ... ${s.violations.length - 15} more in latest.json`);
  }
  return parts.join('\n') + '\n';
}

export function writeReport(report: ChaosReport, dir: string, name: string): { json: string; md: string } {
  fs.mkdirSync(dir, { recursive: true });
  const json = path.join(dir, `${name}.json`);
  const md = path.join(dir, `${name}.md`);
  fs.writeFileSync(json, JSON.stringify(report, null, 2) + '\n');
  fs.writeFileSync(md, renderReport(report));
  return { json, md };
}
