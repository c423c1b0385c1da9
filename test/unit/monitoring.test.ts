/**
 * What the project ships for monitoring, against the one list of its metric names
 * (src/observability/metric-names.ts) and against promtool: the Grafana dashboard
 * (docs/grafana/policy-execution.json) charts every metric and names none that does not exist; the
 * alert rules (docs/prometheus/policy-execution-alerts.yml) pass `promtool check rules` and their
 * unit tests (every alert fires on the series it is for, and not under its threshold), and name only
 * real metrics; docs/operations.md describes every metric and every alert. Whether the expressions
 * work on what a running worker exports: test/integration/observability.test.ts.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { MODEL_NAME } from '../../src/activities/dbt';
import { DEFAULT_DISPATCH_BATCH_SIZE } from '../../src/dispatcher';
import { METRIC } from '../../src/observability/metric-names';
import { REQUESTS_TABLE, STATE_TABLE } from '../../src/warehouse/tables';
import {
  ALERT_RULE_TESTS_PATH,
  ALERT_RULES_PATH,
  metricsIn,
  prometheusBin,
  readAlertRules,
  readDashboard,
} from '../helpers/monitoring';

const ROOT = path.resolve(__dirname, '../..');
const NAMES = Object.values(METRIC) as string[];
const unknown = (used: string[]) => [...new Set(used)].filter((n) => !NAMES.includes(n));

describe('the Grafana dashboard', () => {
  const dashboard = readDashboard();
  const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

  it('charts every project metric and no unknown one', () => {
    const used = new Set(exprs.flatMap((e) => metricsIn(e)));
    expect(unknown([...used])).toEqual([]);
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

describe('the Prometheus alert rules', () => {
  const rules = readAlertRules();

  it('pass promtool check rules', () => {
    const out = execFileSync(prometheusBin('promtool'), ['check', 'rules', ALERT_RULES_PATH], {
      encoding: 'utf8',
    });
    expect(out).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it('pass their promtool unit tests, which fire every alert at least once', () => {
    const tests = parse(fs.readFileSync(ALERT_RULE_TESTS_PATH, 'utf8')) as {
      tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
    };
    const fired = new Set(
      tests.tests.flatMap((t) =>
        t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname),
      ),
    );
    expect(rules.map((r) => r.alert).filter((a) => !fired.has(a))).toEqual([]);
    // promtool resolves rule_files from the test file's directory; it exits non-zero on a failure.
    const out = execFileSync(
      prometheusBin('promtool'),
      ['test', 'rules', path.basename(ALERT_RULE_TESTS_PATH)],
      {
        cwd: path.dirname(ALERT_RULE_TESTS_PATH),
        encoding: 'utf8',
      },
    );
    expect(out).toContain('SUCCESS');
  });

  it('name only project metrics that exist; each has a severity, a summary and a description', () => {
    expect(unknown(rules.flatMap((r) => metricsIn(r.expr)))).toEqual([]);
    for (const r of rules) {
      expect(['page', 'ticket'], r.alert).toContain(r.labels.severity);
      expect(r.annotations.summary, r.alert).toBeTruthy();
      expect(r.annotations.description, r.alert).toBeTruthy();
    }
  });

  it("alert on a full dispatcher backlog at the dispatcher's batch size", () => {
    const backlog = rules.find((r) => r.alert === 'DispatcherBacklogFull');
    expect(backlog?.expr).toBe(`max(${METRIC.dispatcherBacklog}) >= ${DEFAULT_DISPATCH_BATCH_SIZE}`);
  });
});

describe('docs/operations.md', () => {
  const doc = fs.readFileSync(path.join(ROOT, 'docs/operations.md'), 'utf8');

  it('describes every project metric and names no unknown one', () => {
    for (const name of NAMES) expect(doc, name).toContain(`| \`${name}\``);
    const tables = [STATE_TABLE, REQUESTS_TABLE, MODEL_NAME];
    expect(unknown(metricsIn(doc)).filter((n) => !tables.includes(n))).toEqual([]);
  });

  it('lists every alert of the rules file with its severity, and no other', () => {
    const rows = [...doc.matchAll(/^\| ([A-Z][A-Za-z]+) +\| (page|ticket) +\|/gm)].map(
      (m) => `${m[1]} ${m[2]}`,
    );
    expect(rows.sort()).toEqual(
      readAlertRules()
        .map((r) => `${r.alert} ${r.labels.severity}`)
        .sort(),
    );
  });
});
