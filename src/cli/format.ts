/** Human-readable output of state rows for the CLI and `make demo`. */
import type { StateRow } from '../policy/state';

const FLAGS = [
  'completed',
  'requires_circuit_breaker',
  'circuit_breaker_initiated',
  'circuit_breaker_completed',
] as const;

/** One line per transition, as `start --wait` prints them. */
export function formatStep(row: StateRow): string {
  const time = row.updated_at.slice(11, 23);
  const parts = [`${time}  v${row.state_version}  ${row.status.padEnd(14)}`, `polls=${row.poll_count}`];
  if (row.policy_id) parts.push(`policy=${row.policy_id}`);
  parts.push(row.error_message ? `error: ${row.error_message}` : (row.message ?? ''));
  return parts.join('  ');
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'object') {
    const s = JSON.stringify(value);
    return s.length > 160 ? `${s.slice(0, 157)}...` : s;
  }
  return String(value as string | number | boolean);
}

/** The row as `column | value` lines, guide column order first. */
export function formatRow(row: StateRow): string {
  const entries = Object.entries(row);
  const width = Math.max(...entries.map(([k]) => k.length));
  const lines = entries.map(([k, v]) => `${k.padEnd(width)} | ${cell(v)}`);
  const flags = FLAGS.map((f) => `${f}=${row[f]}`).join(' ');
  return `${lines.join('\n')}\n(${flags})`;
}
