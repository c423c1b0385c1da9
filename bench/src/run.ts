/**
 * `make bench`: throughput, latency and freshness of the policy execution workflow on its own local
 * stack, against references run in the same run on the same dev server and simulator latency: the
 * floors (plain Temporal, bench/floor), the guide shape and its floor, the raw loop and the blocking
 * executor (docs/performance.md). BENCH_ONLY picks parts, BENCH_REFERENCES=0 drops the references.
 *
 * This file orchestrates a run: starts the stack, runs the parts in order (the project, then the
 * guide shape on the project's worker; the floors on the floor's worker; the raw and blocking
 * references without Temporal), reads what they left behind, then hands it to the analysis and
 * report.ts, which writes bench/results/latest.json, latest.svg and latest.md.
 */
import './env';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { analyse, analyseBlocking, analyseRaw, type Analysis } from './analyse';
import { bracketed, bracketOf } from './bracket';
import type { ReferenceAnalysis } from './analyse-burst';
import { CORES, loadBenchConfig, runs } from './config';
import { runFloor, runGuideFloor } from './floors';
import { runGuideOurs } from './guide';
import { runOrchestrated } from './orchestrated';
import { loadAverage, Sampler } from './proc';
import { collectProfiles, noProfiles } from './profile';
import { runBlocking, runRaw, type BlockingResult, type RawResult } from './references';
import { buildReport, printSummary, writeResults } from './report';
import type { ReportInput } from './report-input';
import { readWorkerStats, startStack, type Stack } from './stack';
import { ratios, targets, type Compared } from './targets';
import { readSnowflake, readWarehouse } from './warehouse-readout';

const log = (msg: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);

const figure = (r: ReferenceAnalysis) =>
  `${r.executionsPerS.sustained} executions/s sustained, wall ${r.makespanS} s, e2e p50 ${r.e2eMs.p50} ms` +
  (r.isolated.n ? `, one alone p50 ${r.isolated.e2eMs.p50} ms` : '');

/** The project's part: N at once, one at a time, the model; then the guide shape on the same worker. */
async function runOurs(client: Client, stack: Stack, cfg: ReturnType<typeof loadBenchConfig>) {
  const worker = await stack.startWorker();
  log(`project's worker pid ${worker.pid}`);
  let analysis: Analysis | null = null;
  let guide: ReferenceAnalysis | null = null;
  let profile = noProfiles();
  let run: Awaited<ReturnType<typeof runOrchestrated>> | null = null;
  const sampler = new Sampler({
    worker: worker.pid,
    temporal: stack.temporal.process.pid ?? 0,
    simulator: stack.simulator.pid,
    runner: process.pid,
  });
  if (runs(cfg, 'ours')) {
    log(`the project: warm-up ${cfg.warmup}, then ${cfg.n} executions at once`);
    run = await runOrchestrated(client, stack, cfg, { beforeMeasured: () => sampler.start(250) });
    sampler.stop();
    log(
      `all closed after ${((run.allClosedObservedAt - run.t0) / 1000).toFixed(1)} s; model fresh ` +
        (run.modelFreshObservedAt
          ? `after ${((run.modelFreshObservedAt - run.t0) / 1000).toFixed(1)} s`
          : 'NOT observed'),
    );
  }
  if (runs(cfg, 'guide')) {
    log(`guide shape, the project: ${cfg.guideN} at once`);
    guide = await runGuideOurs(client, stack, cfg);
    log(`guide shape, the project: ${figure(guide)}`);
  }
  await stack.stopWorker();
  if (run) {
    if (cfg.profile) profile = collectProfiles(stack.profileDir, log);
    const prefix = `bench-${stack.tag}-m-`;
    const wh = stack.snowflake
      ? await readSnowflake(stack.snowflake.env, prefix)
      : await readWarehouse(stack.warehousePath, prefix);
    analysis = analyse(cfg, stack, run, sampler, wh, readWorkerStats(stack.workerStatsFile));
  }
  return { analysis, guide, profile };
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
    `N=${cfg.n} guide N=${cfg.guideN} latency=${cfg.latencyMs} ms, parts ${[...cfg.parts].join(',')}` +
      `${cfg.references ? '' : ' (references off)'}, ${CORES} cores, load ${loadStart.join(' ')}; temp dir ${tmpDir}`,
  );

  let stack: Stack | null = null;
  let warehouseLabel = '';
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
      `stack up: temporal ${stack.temporal.address} (pid ${stack.temporal.process.pid}), simulator pid ${stack.simulator.pid}; ` +
        `warehouse ${stack.warehouseLabel}`,
    );
    warehouseLabel = stack.warehouseLabel;
    connection = await Connection.connect({ address: stack.temporal.address });
    const client = new Client({ connection, namespace: 'default' });

    // The floors before the project's part too, so that the ratios do not ride on the machine's
    // speed moving between the two (bench/src/bracket.ts).
    const before: { temporalFloor: ReferenceAnalysis | null; guide: ReferenceAnalysis | null } = {
      temporalFloor: null,
      guide: null,
    };
    if (cfg.bracket && runs(cfg, 'ours') && runs(cfg, 'floor')) {
      log(`temporalFloor, before the project: warm-up ${cfg.warmup}, then ${cfg.n} executions at once`);
      before.temporalFloor = await runFloor(client, stack, cfg, 'temporalFloor', 'before');
      log(`temporalFloor, before the project: ${figure(before.temporalFloor)}`);
    }
    if (cfg.bracket && runs(cfg, 'guideFloor')) {
      log(`guide shape, its floor, before the project: ${cfg.guideN} at once`);
      before.guide = await runGuideFloor(client, stack, cfg, 'before');
      log(`guide shape, its floor, before the project: ${figure(before.guide)}`);
    }
    await stack.stopFloorWorker();

    const ours =
      runs(cfg, 'ours') || runs(cfg, 'guide')
        ? await runOurs(client, stack, cfg)
        : { analysis: null, guide: null, profile: noProfiles() };

    const floors: Pick<Compared, 'temporalFloor' | 'temporalFloorLocal'> & {
      guide: ReferenceAnalysis | null;
    } = {
      temporalFloor: null,
      temporalFloorLocal: null,
      guide: null,
    };
    let floorProfile = noProfiles();
    if (runs(cfg, 'floor')) {
      for (const kind of ['temporalFloor', 'temporalFloorLocal'] as const) {
        log(`${kind}: warm-up ${cfg.warmup}, then ${cfg.n} executions at once`);
        floors[kind] = await runFloor(client, stack, cfg, kind);
        log(`${kind}: ${figure(floors[kind])}`);
        if (cfg.profile && kind === 'temporalFloor') {
          // Its own profile: the next floor starts a worker process of its own.
          await stack.stopFloorWorker();
          floorProfile = collectProfiles(stack.floorProfileDir, (m) => log(`temporalFloor: ${m}`));
        }
      }
    }
    if (runs(cfg, 'guideFloor')) {
      log(`guide shape, its floor: ${cfg.guideN} at once`);
      floors.guide = await runGuideFloor(client, stack, cfg);
      log(`guide shape, its floor: ${figure(floors.guide)}`);
    }
    await stack.stopFloorWorker();
    await connection.close();
    connection = null;

    let raw: RawResult | null = null;
    let blocking: BlockingResult | null = null;
    if (runs(cfg, 'raw')) {
      log(`raw limit: ${cfg.n} executions by a plain async loop`);
      raw = await runRaw(cfg, stack.simulatorUrl, tag);
    }
    if (runs(cfg, 'blocking')) {
      log(`blocking executor: ${cfg.baselineN} executions (one dbt run each)`);
      blocking = await runBlocking(cfg, stack.simulatorUrl, tag, tmpDir);
    }
    await stack.stop();
    stack = null;

    const a = ours.analysis;
    const brackets = {
      temporalFloor: bracketOf(before.temporalFloor, floors.temporalFloor),
      guideFloor: bracketOf(before.guide, floors.guide),
    };
    const compared: Compared = {
      n: cfg.n,
      ours: a,
      temporalFloor: bracketed(before.temporalFloor, floors.temporalFloor),
      temporalFloorLocal: floors.temporalFloorLocal,
      guide: { temporal: ours.guide, floor: bracketed(before.guide, floors.guide) },
      raw: raw ? analyseRaw(raw, cfg.latencyMs) : null,
      blocking: blocking ? analyseBlocking(blocking, cfg.n) : null,
    };
    const rat = ratios(compared);
    const input: ReportInput = {
      cfg,
      warehouseLabel,
      startedAt,
      load: { start: loadStart, end: loadAverage() },
      analysis: a,
      temporalFloor: compared.temporalFloor,
      temporalFloorLocal: compared.temporalFloorLocal,
      guide: compared.guide,
      brackets,
      rawLimit: compared.raw,
      blocking: compared.blocking,
      ratios: rat,
      targets: targets(compared, rat),
      workerProfile: ours.profile.summaries,
      floorWorkerProfile: floorProfile.summaries,
      timings: { raw, blocking },
    };
    const report = buildReport(input);
    writeResults(cfg, report, { ours: ours.profile.files, temporalFloor: floorProfile.files });
    printSummary(input, report);
    const incomplete = [
      a,
      before.temporalFloor,
      floors.temporalFloor,
      floors.temporalFloorLocal,
      ours.guide,
      before.guide,
      floors.guide,
    ].filter((b) => b && (b.timedOut || b.failed > 0));
    if (incomplete.length > 0 || (a && a.dbt.modelRowsCompleted < cfg.n)) {
      console.error(
        `WARNING: ${incomplete.length} part(s) timed out or had failures` +
          (a
            ? `; the project: ${a.executions} of ${cfg.n} finished, ${a.failed} failed, the model shows ${a.dbt.modelRowsCompleted}`
            : ''),
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
