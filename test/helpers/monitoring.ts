/**
 * What the project ships for monitoring, read the way the tests check it: the Grafana dashboard
 * (docs/grafana/policy-execution.json) and the Prometheus alert rules
 * (docs/prometheus/policy-execution-alerts.yml, with their promtool unit tests in
 * test/fixtures/prometheus/); and a real Prometheus server on loopback that scrapes given targets
 * with those rules loaded. Prometheus and promtool are Debian's package, unpacked by `make test`
 * into .local/tools/prometheus (PROMETHEUS_BIN_DIR points at another directory holding both).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { freePort } from '../../devtools/temporal/dev-server';

const ROOT = path.resolve(__dirname, '../..');
export const DASHBOARD_PATH = path.join(ROOT, 'docs/grafana/policy-execution.json');
export const ALERT_RULES_PATH = path.join(ROOT, 'docs/prometheus/policy-execution-alerts.yml');
export const ALERT_RULE_TESTS_PATH = path.join(
  ROOT,
  'test/fixtures/prometheus/policy-execution-alerts.test.yml',
);
/** The scrape job the alert rules name (`up{job=...}`) and the dashboard's `$job` picks. */
export const WORKER_JOB = 'policy-execution-worker';

export interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
}

export interface Dashboard {
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; definition?: string }[] };
}

export function readDashboard(): Dashboard {
  return JSON.parse(fs.readFileSync(DASHBOARD_PATH, 'utf8')) as Dashboard;
}

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: 'page' | 'ticket' };
  annotations: { summary: string; description: string };
}

export function readAlertRules(): AlertRule[] {
  const doc = parse(fs.readFileSync(ALERT_RULES_PATH, 'utf8')) as { groups: { rules: AlertRule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

/** A dashboard expression as Grafana sends it, for this job and a one-minute rate window. */
export function asGrafanaSendsIt(expr: string, job = WORKER_JOB): string {
  return expr.replaceAll('$__rate_interval', '1m').replaceAll('$job', job);
}

/** The metric names an expression uses (histogram series reduced to their metric). */
export function metricsIn(text: string, prefix = 'policy_execution_'): string[] {
  const re = new RegExp(`\\b${prefix}[a-z_]+`, 'g');
  return [...text.matchAll(re)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''));
}

/**
 * The metrics (the project's and the SDK's `temporal_*`) an expression uses that Prometheus has no
 * series for, `exported` being its metric names (a histogram counts by its `_bucket` series).
 */
export function unexported(expr: string, exported: ReadonlySet<string>): string[] {
  return [...metricsIn(expr), ...metricsIn(expr, 'temporal_')].filter(
    (m) => !exported.has(m) && !exported.has(`${m}_bucket`),
  );
}

export function prometheusBin(name: 'prometheus' | 'promtool'): string {
  const dir = process.env.PROMETHEUS_BIN_DIR || path.join(ROOT, '.local/tools/prometheus/usr/bin');
  const bin = path.join(dir, name);
  if (!fs.existsSync(bin))
    throw new Error(
      `no ${name} at ${bin}: run 'make test' (it installs Prometheus) or set PROMETHEUS_BIN_DIR`,
    );
  return bin;
}

export interface QueryResult {
  resultType: string;
  result: { metric: Record<string, string>; value?: [number, string] }[];
}

export interface RuleState {
  name: string;
  type: string;
  health: string;
  lastError?: string;
  state?: string;
  lastEvaluation: string;
}

export interface PrometheusServer {
  url: string;
  /** An instant query; throws with Prometheus's own error when the expression is refused. */
  query(expr: string): Promise<QueryResult>;
  /** Every metric name Prometheus has series for. */
  metricNames(): Promise<string[]>;
  rules(): Promise<RuleState[]>;
  close(): Promise<void>;
}

async function api<T>(url: string): Promise<T> {
  const res = await fetch(url);
  const body = (await res.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`${url}: ${body.error ?? res.status}`);
  return body.data;
}

/** Prometheus scraping `targets` (host:port, /metrics) every second as WORKER_JOB, with the alert rules. */
export async function startPrometheus(targets: string[], dir: string): Promise<PrometheusServer> {
  fs.mkdirSync(dir, { recursive: true });
  const config = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(
    config,
    JSON.stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: [ALERT_RULES_PATH],
      scrape_configs: [{ job_name: WORKER_JOB, static_configs: [{ targets }] }],
    }),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const log = fs.openSync(path.join(dir, 'prometheus.log'), 'a');
  const child: ChildProcess = spawn(
    prometheusBin('prometheus'),
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', log, log] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(
        `prometheus exited (${child.exitCode}): ${fs.readFileSync(path.join(dir, 'prometheus.log'), 'utf8')}`,
      );
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`prometheus not ready on ${url} within 30 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    query: (expr) => api<QueryResult>(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`),
    metricNames: () => api<string[]>(`${url}/api/v1/label/__name__/values`),
    rules: async () =>
      (await api<{ groups: { rules: RuleState[] }[] }>(`${url}/api/v1/rules`)).groups.flatMap((g) => g.rules),
    close: async () => {
      child.kill('SIGTERM');
      await exited;
      fs.closeSync(log);
    },
  };
}
