/**
 * The Grafana dashboard (docs/grafana/policy-execution.json) and the metrics table of
 * docs/operations.md against the one list of the project's metric names (src/observability/
 * metric-names.ts): every metric is on the dashboard and in the table, and neither names one that
 * does not exist.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MODEL_NAME } from '../../src/activities/dbt';
import { METRIC } from '../../src/observability/metric-names';
import { REQUESTS_TABLE, STATE_TABLE } from '../../src/warehouse/tables';

const ROOT = path.resolve(__dirname, '../..');
const NAMES = Object.values(METRIC) as string[];

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
}

const dashboard = JSON.parse(
  fs.readFileSync(path.join(ROOT, 'docs/grafana/policy-execution.json'), 'utf8'),
) as { uid: string; panels: Panel[]; templating: { list: { name: string }[] } };

/** The project metric names an expression uses (histogram series reduced to their metric). */
function projectMetricsIn(text: string): string[] {
  return [...text.matchAll(/\bpolicy_execution_[a-z_]+/g)].map((m) =>
    m[0].replace(/_(bucket|sum|count)$/, ''),
  );
}

describe('the Grafana dashboard', () => {
  const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

  it('charts every project metric and no unknown one', () => {
    const used = new Set(exprs.flatMap(projectMetricsIn));
    expect([...used].filter((n) => !NAMES.includes(n))).toEqual([]);
    expect(NAMES.filter((n) => !used.has(n))).toEqual([]);
  });

  it('asks for its data source and job, and every panel has a query', () => {
    expect(dashboard.uid).toBe('policy-execution');
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'job']);
    for (const p of dashboard.panels.filter((x) => x.type !== 'row')) {
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets ?? []) expect(t.expr, p.title).toContain('job=~"$job"');
    }
  });
});

describe('docs/operations.md', () => {
  const doc = fs.readFileSync(path.join(ROOT, 'docs/operations.md'), 'utf8');

  it('describes every project metric and names no unknown one', () => {
    for (const name of NAMES) expect(doc, name).toContain(`| \`${name}\``);
    const tables = [STATE_TABLE, REQUESTS_TABLE, MODEL_NAME];
    const unknown = [...new Set(projectMetricsIn(doc))].filter(
      (n) => !NAMES.includes(n) && !tables.includes(n),
    );
    expect(unknown).toEqual([]);
  });
});
