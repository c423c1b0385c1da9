/**
 * `make bench`: throughput, orchestration overhead and freshness of the policy execution workflow on
 * its own local stack, against two references on the same simulator (see bench/PERFORMANCE.md).
 *
 * This file orchestrates a run: starts the stack, runs the measured executions and the references,
 * reads what they left behind, then hands it to analyse.ts (the figures) and report.ts, which writes
 * bench/results/latest.json (every figure), latest.svg (chart) and latest.md (table).
 */
import './env';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { withDuckDb } from '../../src/warehouse/duckdb/connection';
import {
  analyse,
  analyseBlocking,
  analyseRaw,
  ratios,
  type RefreshLogRow,
  type WarehouseReadout,
} from './analyse';
import { CORES, loadBenchConfig } from './config';
import { summarizeProfile, type ProfileSummary } from './profile';
import { runOrchestrated } from './orchestrated';
import { loadAverage, Sampler } from './proc';
import { runBlocking, runRaw, type BlockingResult, type RawResult } from './references';
import { buildReport, printSummary, writeResults, type ReportInput } from './report';
import { readWorkerStats, startStack, type Stack } from './stack';

const log = (msg: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);

async function readWarehouse(stack: Stack, prefix: string): Promise<WarehouseReadout> {
  return withDuckDb(
    stack.warehousePath,
    async (c) => {
      const hasModel = await c.runAndReadAll(
        `SELECT count(*) FROM information_schema.tables WHERE table_name = 'policy_execution_model'`,
      );
      const model =
        Number(hasModel.getRows()[0]?.[0] ?? 0) === 0
          ? null
          : await c.runAndReadAll(
              `SELECT count(*) FROM policy_execution_model WHERE execution_id LIKE ?::VARCHAR AND status = 'completed'`,
              [`${prefix}%`],
            );
      const state = await c.runAndReadAll(
        `SELECT count(*) FROM policy_execution_state WHERE execution_id LIKE ?::VARCHAR AND status = 'completed'`,
        [`${prefix}%`],
      );
      const refresh = await c.runAndReadAll(
        `SELECT refresh_id, epoch_ms(started_at), epoch_ms(finished_at), success, duration_ms, requests, model_rows
           FROM policy_model_refresh_log ORDER BY started_at`,
      );
      return {
        modelCompleted: Number(model?.getRows()[0]?.[0] ?? 0),
        stateCompleted: Number(state.getRows()[0]?.[0] ?? 0),
        refreshLog: refresh.getRows().map(
          (r): RefreshLogRow => ({
            refreshId: String(r[0]),
            startedMs: Number(r[1]),
            finishedMs: Number(r[2]),
            success: r[3] === true,
            durationMs: Number(r[4]),
            requests: Number(r[5]),
            modelRows: r[6] === null ? null : Number(r[6]),
          }),
        ),
      };
    },
    { readOnly: true, transaction: false },
  );
}

async function main(): Promise<void> {
  const cfg = loadBenchConfig();
  const startedAt = new Date();
  const loadStart = loadAverage();
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'policy-bench-'));
  const tag = path
    .basename(tmpDir)
    .replace(/^policy-bench-/, '')
    .toLowerCase();
  log(
    `N=${cfg.n} latency=${cfg.latencyMs} ms, ${CORES} cores, load ${loadStart.join(' ')}; temp dir ${tmpDir}`,
  );

  let stack: Stack | null = null;
  let connection: Connection | null = null;
  const cleanup = async () => {
    await connection?.close().catch(() => undefined);
    await stack?.stop();
  };
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    log(`${sig}: stopping the benchmark's processes`);
    void cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    stack = await startStack(cfg, tmpDir, tag);
    log(
      `stack up: temporal ${stack.temporal.address} (pid ${stack.temporal.process.pid}), simulator pid ${stack.simulator.pid}, worker pid ${stack.worker.pid}`,
    );
    connection = await Connection.connect({ address: stack.temporal.address });
    const client = new Client({ connection, namespace: 'default' });
    const sampler = new Sampler({
      worker: stack.worker.pid,
      temporal: stack.temporal.process.pid ?? 0,
      simulator: stack.simulator.pid,
      runner: process.pid,
    });

    log(`warm-up ${cfg.warmup}, then ${cfg.n} executions`);
    const run = await runOrchestrated(client, stack, cfg, { beforeMeasured: () => sampler.start(250) });
    sampler.stop();
    log(
      `all closed after ${((run.allClosedObservedAt - run.t0) / 1000).toFixed(1)} s; model fresh ` +
        (run.modelFreshObservedAt
          ? `after ${((run.modelFreshObservedAt - run.t0) / 1000).toFixed(1)} s`
          : 'NOT observed'),
    );
    await connection.close();
    connection = null;
    await stack.stopWorker();
    const workerStats = readWorkerStats(stack.workerStatsFile);
    // One profile per thread: the main thread and the workflow thread(s).
    const workerProfile: ProfileSummary[] = [];
    const profileFiles: string[] = [];
    if (cfg.profile && fs.existsSync(stack.profileDir)) {
      for (const file of fs
        .readdirSync(stack.profileDir)
        .filter((f) => f.endsWith('.cpuprofile'))
        .sort()) {
        profileFiles.push(path.join(stack.profileDir, file));
        const summary = summarizeProfile(path.join(stack.profileDir, file));
        workerProfile.push(summary);
        log(
          `worker CPU profile ${file} (${summary.totalS} s): ` +
            summary.byArea.map((a) => `${a.area} ${Math.round(a.share * 100)}%`).join(', '),
        );
      }
    }
    const wh = await readWarehouse(stack, `bench-${tag}-m-`);
    const a = analyse(cfg, stack, run, sampler, wh, workerStats);

    let raw: RawResult | null = null;
    let blocking: BlockingResult | null = null;
    if (cfg.references) {
      log(`reference 1: raw limit, ${cfg.n} executions by a plain async loop`);
      raw = await runRaw(cfg, stack.simulatorUrl, tag);
      log(`reference 2: blocking executor, ${cfg.baselineN} executions (one dbt run each)`);
      blocking = await runBlocking(cfg, stack.simulatorUrl, tag, tmpDir);
    }
    await stack.stop();
    stack = null;

    const rawA = raw ? analyseRaw(raw, cfg.latencyMs) : null;
    const blkA = blocking ? analyseBlocking(blocking, cfg.n) : null;
    const input: ReportInput = {
      cfg,
      startedAt,
      load: { start: loadStart, end: loadAverage() },
      analysis: a,
      rawLimit: rawA,
      blocking: blkA,
      ratios: ratios(a, rawA, blkA),
      workerProfile,
      timings: { isolatedOverheadMs: run.isolated.map((h) => h.overheadMs), raw, blocking },
    };
    const report = buildReport(input);
    writeResults(cfg, report, profileFiles);
    printSummary(input, report);
    if (a.timedOut || a.failed > 0 || a.dbt.modelRowsCompleted < cfg.n) {
      console.error(
        `WARNING: ${a.executions} of ${cfg.n} finished${a.timedOut ? ' before the timeout' : ''}, ${a.failed} failed; ` +
          `the model shows ${a.dbt.modelRowsCompleted} of ${cfg.n}`,
      );
      process.exitCode = 1;
    }
    if (process.env.BENCH_KEEP_TMP === '1') log(`temp dir kept: ${tmpDir}`);
    else fs.rmSync(tmpDir, { recursive: true, force: true });
  } catch (err) {
    console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    console.error(`logs kept in ${tmpDir}`);
    process.exitCode = 1;
  } finally {
    await cleanup();
  }
}

void main();
