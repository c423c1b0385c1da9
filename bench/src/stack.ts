/**
 * The benchmark's own stack: a Temporal dev server on free ports with a throw-away database file, the
 * policy API simulator and the worker as separate processes (so /proc can measure each), a DuckDB
 * file and dbt work directory in a temp dir. Every process is started here and stopped by its pid.
 */
import fs from 'node:fs';
import path from 'node:path';
import { freePort, startDevServer, type DevServer } from '../../devtools/temporal/dev-server';
import type { BenchConfig } from './config';
import { startProcess, type Managed } from './proc';

export interface Stack {
  tmpDir: string;
  tag: string;
  temporal: DevServer;
  simulator: Managed;
  simulatorUrl: string;
  worker: Managed;
  taskQueue: string;
  refreshWorkflowId: string;
  warehousePath: string;
  workerStatsFile: string;
  /** Where the worker's CPU profile goes with BENCH_PROFILE=1. */
  profileDir: string;
  /** The worker's env settings that tune it (WORKER_*), as passed. */
  workerTuning: Record<string, string>;
  stopWorker(): Promise<void>;
  stop(): Promise<void>;
}

export async function startStack(cfg: BenchConfig, tmpDir: string, tag: string): Promise<Stack> {
  const started: { stop(): Promise<void> }[] = [];
  const stopAll = async () => {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
  };
  try {
    const temporal = await startDevServer({
      dbFilename: path.join(tmpDir, 'temporal.db'),
      extraArgs: cfg.sqlitePragmas.flatMap((p) => ['--sqlite-pragma', p]),
    });
    started.push(temporal);

    const simPort = await freePort();
    const simulator = startProcess(
      'simulator',
      process.execPath,
      [path.join(cfg.buildDir, 'devtools', 'simulator', 'main.js')],
      {
        cwd: cfg.repoRoot,
        env: {
          ...process.env,
          SIMULATOR_PORT: String(simPort),
          SIMULATOR_LATENCY_MS: String(cfg.latencyMs),
          SIMULATOR_LOG: '',
        },
        logFile: path.join(tmpDir, 'simulator.log'),
      },
    );
    started.push(simulator);
    await simulator.waitFor(/listening/, 30_000);
    const simulatorUrl = `http://127.0.0.1:${simPort}`;

    const taskQueue = `bench-${tag}`;
    const refreshWorkflowId = `bench-refresh-${tag}`;
    const warehousePath = path.join(tmpDir, 'warehouse.duckdb');
    const workerStatsFile = path.join(tmpDir, 'worker-stats.json');
    const workerTuning = Object.fromEntries(
      Object.entries(process.env).filter(
        (e): e is [string, string] => e[0].startsWith('WORKER_') && e[0] !== 'WORKER_STATS_FILE' && !!e[1],
      ),
    );
    const profileDir = path.join(tmpDir, 'profile');
    const nodeArgs = cfg.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    const worker = startProcess(
      'worker',
      process.execPath,
      [...nodeArgs, path.join(cfg.buildDir, 'src', 'worker.js')],
      {
        cwd: cfg.repoRoot,
        env: {
          ...process.env,
          TEMPORAL_ADDRESS: temporal.address,
          TEMPORAL_NAMESPACE: 'default',
          POLICY_API_URL: simulatorUrl,
          POLICY_TASK_QUEUE: taskQueue,
          WAREHOUSE_PATH: warehousePath,
          DBT_REFRESH: 'on',
          DBT_REFRESH_WORKFLOW_ID: refreshWorkflowId,
          DBT_WORK_DIR: path.join(tmpDir, 'dbt-worker'),
          DBT_PROJECT_DIR: path.join(cfg.repoRoot, 'dbt'),
          DBT_BIN: process.env.DBT_BIN || path.join(cfg.repoRoot, '.venv', 'bin', 'dbt'),
          DISPATCH_INTERVAL_MS: '0',
          WORKER_STATS_FILE: workerStatsFile,
        },
        logFile: path.join(tmpDir, 'worker.log'),
      },
    );
    started.push(worker);
    await worker.waitFor(/worker ready/, 120_000);

    let workerStopped = false;
    return {
      tmpDir,
      tag,
      temporal,
      simulator,
      simulatorUrl,
      worker,
      taskQueue,
      refreshWorkflowId,
      warehousePath,
      workerStatsFile,
      profileDir,
      workerTuning,
      async stopWorker() {
        if (workerStopped) return;
        workerStopped = true;
        await worker.stop(30_000);
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

export function readWorkerStats(file: string): Record<string, unknown> | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}
