/**
 * Operating it, against the real parts: the real dev server, the simulator over HTTP, a real DuckDB
 * file and an in-process worker wired the way the worker process wires itself (setupObservability:
 * the SDK runtime with its Prometheus endpoint, tracing, structured logs), with spans going to an
 * in-memory exporter and log lines captured. One execution started by the project CLI: its summary,
 * static and current details and the activities' summaries; the metrics endpoint's series; its trace
 * from the CLI's start through the workflow to each API call (and the `traceparent` the API got);
 * its JSON log lines. A schedule created by the CLI fires (triggered) and its execution completes,
 * traced from its run. A dbt request started by the dispatcher: its summary and details, its trace
 * from the dispatcher's start, the dispatcher's metrics. A model refresh (the real dbt, on the
 * harness's dbt worker): its duration, outcome, lag and last success in the metrics. Then a real
 * Prometheus scrapes the endpoint with the alert rules loaded: every dashboard query and every rule
 * runs on what the worker exported.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { workflowMetadataQuery } from '@temporalio/workflow';
import type { Worker } from '@temporalio/worker';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../helpers/cli';
import { METRIC } from '../../src/observability/metric-names';
import { setupObservability, type Observability } from '../../src/observability/setup';
import { SPAN_ATTRIBUTES } from '../../src/observability/tracing';
import type { StateRow } from '../../src/policy';
import { createPolicyApiClient } from '../../src/policy-api/client';
import type { PolicyApi } from '../../src/policy-api/types';
import { RequestDispatcher } from '../../src/dispatcher';
import { createPolicyWorker } from '../../src/worker';
import { freePort } from '../../devtools/temporal/dev-server';
import { policyWithId, startHarness, uniqueId, type Harness } from '../helpers/harness';
import { insertRequestSql } from '../helpers/warehouses';
import {
  asGrafanaSendsIt,
  readAlertRules,
  readDashboard,
  startPrometheus,
  WORKER_JOB,
  unexported,
  type PrometheusServer,
} from '../helpers/monitoring';

const TOKEN = 'observability-test-token-5f1c';

let h: Harness;
let obs: Observability;
let api: PolicyApi;
let worker: Worker;
let workerDone: Promise<void>;
let metricsUrl: string;
const spans = new InMemorySpanExporter();
const logLines: string[] = [];

beforeAll(async () => {
  const metricsPort = await freePort();
  metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  // Before any connection: this process's runtime is the worker's (Prometheus, the JSON logger).
  obs = setupObservability({
    component: 'worker',
    env: { ...process.env, LOG_LEVEL: 'info', LOG_FORMAT: 'json', POLICY_API_TOKEN: TOKEN },
    metrics: { bindAddress: `127.0.0.1:${metricsPort}` },
    spanProcessor: new SimpleSpanProcessor(spans),
    routeConsole: false,
    write: (line) => void logLines.push(line),
  });
  h = await startHarness({
    installRuntime: false,
    inProcessWorker: false,
    onBatch: obs.onBatch,
    refresh: { debounceMs: 200, maxWaitMs: 2000 },
  });
  api = createPolicyApiClient({
    baseUrl: h.sim.url,
    timeoutMs: 1500,
    token: TOKEN,
    requestHeaders: obs.tracing.headers,
    onCall: obs.onApiCall,
  });
  worker = await createPolicyWorker({
    connection: h.env.nativeConnection,
    namespace: 'default',
    taskQueue: h.taskQueue,
    deps: {
      api,
      warehouse: h.warehouse,
      breaker: { threshold: 5, halfOpenAfterMs: 1000 },
      refresh: h.refreshTarget,
    },
  });
  workerDone = worker.run();
  process.env.TEMPORAL_ADDRESS = inject('temporalAddress');
  process.env.TEMPORAL_NAMESPACE = 'default';
  process.env.POLICY_TASK_QUEUE = h.taskQueue;
});
afterAll(async () => {
  worker?.shutdown();
  await workerDone;
  await api?.close();
  await h?.close();
  await obs?.shutdown();
});

async function until<T>(what: string, fn: () => Promise<T | false> | T | false, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function policyFile(policy: Record<string, unknown>): string {
  const file = path.join(h.tmpDir, `${String(policy.expected_policy_id)}.json`);
  fs.writeFileSync(file, JSON.stringify(policy));
  return file;
}

const summaryOf = (p: Record<string, unknown>) =>
  `${String(p.policy_name)} · ${String(p.policy_type)} · priority ${String(p.priority)}`;

describe('one execution started by the CLI', () => {
  const id = uniqueId('obs-cli');
  const policyId = uniqueId('pol-obs');
  const policy = policyWithId(policyId);

  beforeAll(async () => {
    const r = await runCli([
      'start',
      '--policy',
      policyFile(policy),
      '--id',
      id,
      '--wait',
      '--max-polls',
      '3',
      '--poll-interval-ms',
      '50',
      '--no-refresh',
    ]);
    expect(r.code, r.out).toBe(0);
    const row = await h.warehouse.getState(id);
    expect(row?.status).toBe('completed');
  });

  it('carries its summary and details, and its current details say how it ended', async () => {
    const handle = h.env.client.workflow.getHandle(id);
    const d = await handle.describe();
    expect(await d.staticSummary()).toBe(summaryOf(policy));
    const details = await d.staticDetails();
    expect(details).toContain('**Policy**');
    expect(details).toContain(`\`policy_execution_state\` where \`execution_id\` = \`${id}\``);
    expect(details).toContain('- polls: at most 3');
    expect(details).toContain('**Started by** cli');
    const meta = await handle.query(workflowMetadataQuery);
    expect(meta.currentDetails).toContain('**Completed**');
    expect(meta.currentDetails).toContain(`**Policy id**: \`${policyId}\``);
    expect(meta.currentDetails).toMatch(/polls 1 of 3/);

    // Every activity the history schedules has a summary.
    const history = await handle.fetchHistory();
    const summaries = (history.events ?? [])
      .filter((e) => e.activityTaskScheduledEventAttributes)
      .map((e) => ({
        type: e.activityTaskScheduledEventAttributes?.activityType?.name,
        summary: e.userMetadata?.summary
          ? defaultPayloadConverter.fromPayload<string>(e.userMetadata.summary)
          : undefined,
      }));
    expect(summaries.map((s) => s.type)).toEqual(
      expect.arrayContaining(['createPolicy', 'getPolicyStatus', 'triggerCircuitBreaker']),
    );
    for (const s of summaries) expect(s.summary, String(s.type)).toBeTruthy();
    expect(summaries.find((s) => s.type === 'createPolicy')?.summary).toBe(
      `POST /createpolicy · ${String(policy.policy_name)}`,
    );
  });

  it('shows in the metrics endpoint: the project series and the SDK worker metrics', async () => {
    const text = await until('the execution in /metrics', async () => {
      const body = await (await fetch(metricsUrl)).text();
      return body.includes('policy_execution_executions_finished') ? body : false;
    });
    const names = new Set(
      text
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => l.replace(/[{ ].*$/, '')),
    );
    const has = (name: string) =>
      [...names].some((n) => n === name || n === `${name}_bucket` || n === `${name}_total`);
    for (const name of [
      METRIC.executionsStarted,
      METRIC.executionsFinished,
      METRIC.executionDuration,
      METRIC.apiCalls,
      METRIC.apiCallLatency,
      METRIC.pollResults,
      METRIC.breakerState,
      METRIC.warehouseBatchRows,
      METRIC.warehouseWriteLatency,
    ])
      expect(has(name), `${name} in /metrics`).toBe(true);
    expect([...names].some((n) => n.startsWith('temporal_'))).toBe(true);
    expect(text).toMatch(/policy_execution_executions_finished\w*\{[^}]*status="completed"[^}]*\} [1-9]/);
    expect(text).toMatch(/policy_execution_api_calls\w*\{[^}]*step="create_policy"[^}]*\} [1-9]/);
  });

  it('is one trace from the CLI start through the workflow to each API call', async () => {
    const isOurs = (s: ReadableSpan) => s.attributes[SPAN_ATTRIBUTES.executionId] === id;
    const start = await until(
      'the start span',
      () => spans.getFinishedSpans().find((s) => s.name.startsWith('StartWorkflow:') && isOurs(s)) ?? false,
    );
    const traceId = start.spanContext().traceId;
    const trace = await until('the workflow span', () => {
      const all = spans.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
      return all.some((s) => s.name === 'RunWorkflow:policyExecution') ? all : false;
    });
    const names = trace.map((s) => s.name);
    for (const name of [
      'StartWorkflow:policyExecution',
      'RunWorkflow:policyExecution',
      'StartActivity:createPolicy',
      'RunActivity:createPolicy',
      'StartActivity:getPolicyStatus',
      'RunActivity:getPolicyStatus',
      'StartActivity:triggerCircuitBreaker',
      'RunActivity:triggerCircuitBreaker',
    ])
      expect(names, name).toContain(name);
    for (const s of trace.filter(
      (t) => t.name.startsWith('RunActivity:') && !t.name.endsWith('recordState'),
    )) {
      expect(s.attributes[SPAN_ATTRIBUTES.executionId], s.name).toBe(id);
    }
    const apiSpans = trace.filter((s) =>
      ['RunActivity:getPolicyStatus', 'RunActivity:triggerCircuitBreaker'].includes(s.name),
    );
    for (const s of apiSpans) expect(s.attributes[SPAN_ATTRIBUTES.policyId], s.name).toBe(policyId);

    // Each API request carried the trace context of its activity's span.
    const requests = h.sim.requests().filter((r) => r.policyId === policyId && r.op !== 'unknown');
    expect(requests.length).toBeGreaterThanOrEqual(3);
    const runSpanIds = new Set(
      trace.filter((s) => s.name.startsWith('RunActivity:')).map((s) => s.spanContext().spanId),
    );
    for (const r of requests) {
      const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(r.traceparent ?? '');
      expect(m, `${r.op} traceparent ${r.traceparent}`).not.toBeNull();
      expect(m![1]).toBe(traceId);
      expect(runSpanIds.has(m![2] ?? '')).toBe(true);
    }
  });

  it('logs JSON lines naming the execution, the policy and the step; the token never shows', async () => {
    // The SDK's runtime logger holds records a moment to order them: wait for the last row's line.
    const parsed = () => logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
    await until('the completed row in the log', () =>
      parsed().some((r) => r.executionId === id && r.msg === 'execution completed'),
    );
    const records = parsed();
    for (const r of records) {
      expect(typeof r.time).toBe('string');
      expect(typeof r.level).toBe('string');
      expect(typeof r.msg).toBe('string');
    }
    expect(records.filter((r) => r.level === 'debug' || r.level === 'trace')).toEqual([]);
    const ours = records.filter((r) => r.executionId === id);
    expect(ours.some((r) => r.policyId === policyId && r.step === 'poll_status')).toBe(true);
    expect(ours.some((r) => r.msg === 'execution completed' && r.policyId === policyId)).toBe(true);
    expect(logLines.join('\n')).not.toContain(TOKEN);
  });
});

describe('a schedule created by the CLI', () => {
  it('fires when triggered, and its execution completes with the schedule summary', async () => {
    const scheduleId = uniqueId('obs-schedule');
    const policy = policyWithId(uniqueId('pol-sched'));
    const created = await runCli([
      'schedule',
      'create',
      '--id',
      scheduleId,
      '--policy',
      policyFile(policy),
      '--every',
      '24h',
      '--paused',
      '--max-polls',
      '3',
      '--poll-interval-ms',
      '50',
      '--no-refresh',
    ]);
    expect(created.code, created.out).toBe(0);
    const schedule = h.env.client.schedule.getHandle(scheduleId);
    try {
      await schedule.trigger();
      const run = await until('the triggered run', async () => {
        const d = await schedule.describe();
        return d.info.recentActions[0]?.action.workflow ?? false;
      });
      const handle = h.env.client.workflow.getHandle(run.workflowId, run.firstExecutionRunId);
      const row = (await handle.result()) as StateRow;
      expect(row.status).toBe('completed');
      expect((await h.warehouse.getState(row.execution_id))?.status).toBe('completed');
      expect(await (await handle.describe()).staticSummary()).toBe(summaryOf(policy));
      // The run is the root of its own trace, down to its API calls.
      const runSpan = await until(
        'the schedule run span',
        () =>
          spans
            .getFinishedSpans()
            .find(
              (s) =>
                s.name === 'RunWorkflow:policyExecution' &&
                s.attributes[SPAN_ATTRIBUTES.executionId] === row.execution_id,
            ) ?? false,
      );
      expect(runSpan.parentSpanId).toBeUndefined();
      const inTrace = spans
        .getFinishedSpans()
        .filter((s) => s.spanContext().traceId === runSpan.spanContext().traceId);
      expect(inTrace.map((s) => s.name)).toContain('RunActivity:triggerCircuitBreaker');
    } finally {
      await runCli(['schedule', 'delete', scheduleId]);
    }
  });
});

describe('a dbt request started by the dispatcher', () => {
  it('carries its summary and details, is traced from the dispatcher and counted', async () => {
    const requestId = uniqueId('obs-dbt-req');
    const policy = policyWithId(uniqueId('pol-dbt'));
    await h.db.query(insertRequestSql('duckdb'), [
      requestId,
      JSON.stringify(policy),
      JSON.stringify({ maxPolls: 3, pollIntervalMs: 50, refreshModel: false }),
      new Date().toISOString().replace('T', ' ').slice(0, -1),
      'dbt_user',
      'requested',
    ]);
    // The worker's dispatcher: its client traces starts, its passes are counted.
    const client = new Client({
      connection: h.env.connection,
      namespace: 'default',
      interceptors: obs.clientInterceptors(),
    });
    const dispatcher = new RequestDispatcher({
      client,
      warehouse: h.warehouse,
      taskQueue: h.taskQueue,
      warehouseLabel: 'DuckDB test file',
      onPass: (pass) => obs.metrics().dispatcherPass(pass),
    });
    const pass = await dispatcher.dispatchOnce();
    expect(pass.started).toBe(1);
    const handle = h.env.client.workflow.getHandle(requestId);
    expect(((await handle.result()) as StateRow).status).toBe('completed');

    const d = await handle.describe();
    expect(await d.staticSummary()).toBe(summaryOf(policy));
    const details = await d.staticDetails();
    expect(details).toContain('**Started by** dispatcher');
    expect(details).toContain('(DuckDB test file)');

    const start = await until(
      'the dispatcher start span',
      () =>
        spans
          .getFinishedSpans()
          .find(
            (s) =>
              s.name.startsWith('StartWorkflow:') && s.attributes[SPAN_ATTRIBUTES.executionId] === requestId,
          ) ?? false,
    );
    const inTrace = await until('the run in the same trace', () => {
      const all = spans
        .getFinishedSpans()
        .filter((s) => s.spanContext().traceId === start.spanContext().traceId);
      return all.some((s) => s.name === 'RunActivity:triggerCircuitBreaker') ? all : false;
    });
    expect(inTrace.map((s) => s.name)).toContain('RunWorkflow:policyExecution');

    const text = await (await fetch(metricsUrl)).text();
    expect(text).toMatch(/policy_execution_dispatcher_starts_total\{[^}]*outcome="started"[^}]*\} [1-9]/);
    expect(text).toMatch(/policy_execution_executions_started_total\{[^}]*trigger="dispatcher"[^}]*\} [1-9]/);
    expect(text).toMatch(/^policy_execution_dispatcher_backlog(\{[^}]*\})? \d+$/m);
  });
});

describe('an execution started without metadata, asking for a model refresh', () => {
  it('has current details; the refresh shows in the metrics: duration, outcome, lag, last success', async () => {
    const id = uniqueId('obs-refresh');
    const handle = await h.env.client.workflow.start('policyExecution', {
      taskQueue: h.taskQueue,
      workflowId: id,
      args: [policyWithId(uniqueId('pol-refresh')), { maxPolls: 3, pollIntervalMs: 50, refreshModel: true }],
    });
    expect(((await handle.result()) as StateRow).status).toBe('completed');
    // Started as `temporal workflow start` would: no summary, the same current details.
    expect(await (await handle.describe()).staticSummary()).toBeUndefined();
    expect((await handle.query(workflowMetadataQuery)).currentDetails).toContain('**Completed**');
    const text = await until(
      'a successful refresh in /metrics',
      async () => {
        const body = await (await fetch(metricsUrl)).text();
        return /policy_execution_dbt_refresh_lag_ms_count\{[^}]*\} [1-9]/.test(body) ? body : false;
      },
      180_000,
    );
    expect(text).toMatch(/policy_execution_dbt_refreshes_total\{[^}]*outcome="ok"[^}]*\} [1-9]/);
    expect(text).toMatch(/policy_execution_dbt_refresh_duration_ms_count\{[^}]*outcome="ok"[^}]*\} [1-9]/);
    const last = /^policy_execution_dbt_last_success_timestamp_seconds(?:\{[^}]*\})? (\d+)$/m.exec(text);
    expect(Number(last?.[1])).toBeGreaterThan(Date.now() / 1000 - 600);
  });
});

/** Exported only when what they count happens, which no execution of this file provokes. */
const NOT_PROVOKED_HERE: string[] = [
  METRIC.breakerRejections, // the breaker never opens
  METRIC.warehouseWriteFailures, // every write succeeds
  METRIC.reconcilerFixes, // no worker runs the reconciler here
];

describe('scraped by a real Prometheus, with the alert rules loaded', () => {
  let prom: PrometheusServer;

  beforeAll(async () => {
    prom = await startPrometheus([new URL(metricsUrl).host], path.join(h.tmpDir, 'prometheus'));
    // Three scrapes at least (a rate needs two samples), and every rule evaluated once.
    await until(
      'three scrapes and every rule evaluated',
      async () => {
        const up = await prom.query(`count_over_time(up{job="${WORKER_JOB}"}[1m])`);
        const rules = await prom.rules();
        return Number(up.result[0]?.value?.[1] ?? 0) >= 3 &&
          rules.length > 0 &&
          rules.every((r) => !r.lastEvaluation.startsWith('0001'))
          ? true
          : false;
      },
      60_000,
    );
  });
  afterAll(async () => {
    await prom?.close();
  });

  it('runs every query of the dashboard on the series the worker exported', async () => {
    const dashboard = readDashboard();
    const exported = new Set(await prom.metricNames());
    // The `$job` variable lists the jobs of this SDK series.
    const jobQuery = /label_values\((\w+), job\)/.exec(
      dashboard.templating.list.find((v) => v.name === 'job')?.definition ?? '',
    );
    const jobs = await prom.query(`count by (job) (${jobQuery?.[1]})`);
    expect(jobs.result.map((r) => r.metric.job)).toContain(WORKER_JOB);

    for (const panel of dashboard.panels) {
      for (const { expr } of panel.targets ?? []) {
        const missing = unexported(expr, exported);
        expect(
          missing.filter((m) => !NOT_PROVOKED_HERE.includes(m)),
          `${panel.title}: ${expr}`,
        ).toEqual([]);
        const result = await prom.query(asGrafanaSendsIt(expr));
        // A panel of one outcome only (outcome="error") has series once that outcome happens.
        const oneOutcome = /\w+="[^"]*"/.test(expr);
        if (missing.length === 0 && !oneOutcome)
          expect(result.result.length, `${panel.title}: ${expr}`).toBeGreaterThan(0);
      }
    }
  });

  it('evaluates every alert rule without an error; none fires for this healthy worker', async () => {
    const rules = await prom.rules();
    expect(rules.map((r) => r.name).sort()).toEqual(
      readAlertRules()
        .map((r) => r.alert)
        .sort(),
    );
    for (const r of rules) {
      expect(r.health, `${r.name}: ${r.lastError ?? ''}`).toBe('ok');
      expect(r.state, r.name).toBe('inactive');
    }
    const exported = new Set(await prom.metricNames());
    for (const rule of readAlertRules()) {
      const missing = unexported(rule.expr, exported).filter((m) => !NOT_PROVOKED_HERE.includes(m));
      expect(missing, rule.alert).toEqual([]);
    }
  });
});
