/**
 * The dbt path's dispatcher under a backlog (`make bench-dispatch`): BENCH_DISPATCH_N (1000)
 * requests in `policy_execution_requests` of the worker's DuckDB file, as `dbt run-operation
 * run_policy_workflow --args '{from_model: ...}'` queues them, before the worker starts; then the
 * project's worker (bin/policy-execution-worker, its dispatcher on at its defaults) starts and runs
 * them all, on the bench's own stack (dev server, simulator at BENCH_LATENCY_MS). With
 * BENCH_DISPATCH_RTT_MS the worker reaches the dev server through a proxy that adds that round trip,
 * as a remote cluster would (latency-proxy.ts); the bench's own reads go direct.
 *
 * Figures: from the worker ready to the last close (the requests all waited from then on); how long
 * the dispatcher took to start them all; executions/s (sustained, as `make bench`); end to end as
 * Temporal sees it (start to close) and as the request sees it (worker ready to close); worker and
 * dev server CPU per 1000, worker peak RSS, the other processes' share of the machine; how many of
 * a sample were started eagerly (their first workflow task recorded started within 0.5 ms of being
 * scheduled: in the same update, as eager start does).
 * Prints them and writes bench/results/dispatch.json. DuckDB only.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { WORKFLOW_TYPE } from '../../src/contracts';
import { withDuckDb } from '../../src/warehouse/duckdb/connection';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/warehouse';
import { CORES, int, loadBenchConfig } from './config';
import { REPO_ROOT } from './env';
import { startLatencyProxy, type LatencyProxy } from './latency-proxy';
import { loadAverage, Sampler } from './proc';
import { startStack } from './stack';
import { rates, summarize } from './stats';

const log = (msg: string) => console.log(`[bench-dispatch ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const round = (v: number, d = 1) => Math.round(v * 10 ** d) / 10 ** d;
const POLICY = { policy_name: 'p', policy_type: 'security', priority: 'high', created_by: 'bench' };

async function queueRequests(file: string, n: number): Promise<void> {
  const wh = new DuckDbWarehouse({ path: file });
  await wh.init();
  await wh.close();
  await withDuckDb(
    file,
    (c) =>
      c.run(
        `INSERT INTO policy_execution_requests (request_id, policy, options, requested_at, requested_by, status)
         SELECT 'dbt-req-bench-' || lpad(i::VARCHAR, 6, '0'), CAST(? AS JSON), NULL, now(), 'bench', 'requested'
         FROM range(${n}) t(i)`,
        [JSON.stringify(POLICY)],
      ),
    {},
  );
}

async function main(): Promise<void> {
  const cfg = loadBenchConfig();
  const n = int('BENCH_DISPATCH_N', 1000, 1);
  const rttMs = int('BENCH_DISPATCH_RTT_MS', 0, 0);
  const loadStart = loadAverage();
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'policy-bench-dispatch-'));
  const tag = path
    .basename(tmpDir)
    .replace(/^policy-bench-dispatch-/, '')
    .toLowerCase();
  log(
    `N=${n} latency=${cfg.latencyMs} ms, worker-server round trip +${rttMs} ms, ${CORES} cores, ` +
      `load ${loadStart.join(' ')}; temp dir ${tmpDir}`,
  );
  const stack = await startStack({ ...cfg, warehouse: 'duckdb' }, tmpDir, tag);
  const connection = await Connection.connect({ address: stack.temporal.address });
  let proxy: LatencyProxy | null = null;
  try {
    // The worker talks to the dev server through the proxy, as it would to a remote cluster.
    proxy = rttMs > 0 ? await startLatencyProxy(stack.temporal.address, rttMs / 2) : null;
    const client = new Client({ connection, namespace: 'default' });
    await queueRequests(stack.warehousePath, n);
    log(`${n} requests queued; starting the worker, its dispatcher on`);
    const worker = await stack.startWorker({
      DISPATCH_INTERVAL_MS: '',
      ...(proxy ? { TEMPORAL_ADDRESS: proxy.address } : {}),
    });
    const ready = Date.now();
    const sampler = new Sampler({ worker: worker.pid, temporal: stack.temporal.process.pid ?? 0 });
    sampler.start(250);
    const query = `TaskQueue='${stack.taskQueue}' AND WorkflowType='${WORKFLOW_TYPE}' AND ExecutionStatus!='Running'`;
    for (;;) {
      const { count } = await connection.workflowService.countWorkflowExecutions({
        namespace: 'default',
        query,
      });
      if (Number(count) >= n) break;
      if (Date.now() - ready > cfg.runTimeoutMs)
        throw new Error(`only ${String(count)} of ${n} closed in time`);
      await sleep(250);
    }
    sampler.stop();
    const runs = [];
    for await (const w of client.workflow.list({ query })) runs.push(w);
    const starts = runs.map((w) => w.startTime.getTime());
    const closes = runs.map((w) => w.closeTime?.getTime() ?? NaN);
    const failed = runs.filter((w) => w.status.name !== 'COMPLETED').length;
    const lastClose = Math.max(...closes);
    let eager = 0;
    const sample = runs.filter((_, i) => i % Math.max(1, Math.floor(runs.length / 50)) === 0);
    for (const w of sample) {
      const { events } = await client.workflow.getHandle(w.workflowId, w.runId).fetchHistory();
      // Started eagerly, the first task is recorded started in the same update as scheduled (tens of
      // µs apart); a task handed to a polling worker takes a round trip through matching first.
      const at = (type: string) => {
        const e = events?.find((x) => x[`${type}EventAttributes` as 'workflowTaskStartedEventAttributes']);
        return e?.eventTime ? Number(e.eventTime.seconds) * 1e3 + (e.eventTime.nanos ?? 0) / 1e6 : NaN;
      };
      if (at('workflowTaskStarted') - at('workflowTaskScheduled') < 0.5) eager += 1;
    }
    const cpu = (name: string) => sampler.delta(name, ready, lastClose);
    const busy = sampler.at(lastClose)!.machine.busyS - sampler.at(ready)!.machine.busyS;
    const result = {
      n,
      failed,
      latencyMs: cfg.latencyMs,
      workerServerRttMs: rttMs,
      cores: CORES,
      loadAverageStart: loadStart,
      loadAverageEnd: loadAverage(),
      workerReadyToLastCloseS: round((lastClose - ready) / 1000),
      dispatcherStartedAllInS: round((Math.max(...starts) - ready) / 1000),
      executionsPerS: rates(Math.min(...starts), closes),
      e2eMs: summarize(closes.map((c, i) => c - (starts[i] ?? c))),
      requestToCloseMs: summarize(closes.map((c) => c - ready)),
      workerCpuSPer1000: round((cpu('worker') * 1000) / n),
      devServerCpuSPer1000: round((cpu('temporal') * 1000) / n),
      workerPeakRssMb: round(Math.max(...sampler.samples.map((s) => s.byName.worker?.peakRssMb ?? 0)), 0),
      otherShareOfMachine: round(
        (busy - cpu('worker') - cpu('temporal')) / ((lastClose - ready) / 1000) / CORES,
        3,
      ),
      startedEagerly: `${eager} of ${sample.length} sampled`,
    };
    log(JSON.stringify(result));
    const out = path.join(REPO_ROOT, 'bench', 'results', 'dispatch.json');
    fs.writeFileSync(
      out,
      `${JSON.stringify({ measuredAt: new Date().toISOString(), ...result }, null, 2)}\n`,
    );
    log(`results: ${path.relative(REPO_ROOT, out)}`);
  } finally {
    await connection.close().catch(() => undefined);
    await stack.stop();
    await proxy?.close();
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error('bench-dispatch failed:', err);
  process.exitCode = 1;
});
