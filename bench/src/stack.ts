/**
 * The benchmark's own stack: a Temporal dev server on free ports with a throw-away database file, the
 * policy API simulator, and the workers as separate processes (so /proc can measure each): the
 * project's worker (src/worker.ts) and the floor's (bench/floor/worker.ts), each on its own task
 * queue, started when a part needs it; a DuckDB file (or, with BENCH_WAREHOUSE=snowflake, the
 * Snowflake emulator: snowflake.ts) and dbt work directory in a temp dir. Every process is started
 * here and stopped by its pid.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadWorkerConfig } from '../../src/config';
import { freePort, startDevServer, type DevServer } from '../../devtools/temporal/dev-server';
import type { BenchConfig } from './config';
import { startProcess, type Managed } from './proc';
import { startBenchSnowflake, type BenchSnowflake } from './snowflake';

export interface Stack {
  tmpDir: string;
  tag: string;
  temporal: DevServer;
  simulator: Managed;
  simulatorUrl: string;
  /** The project's worker, while started. */
  worker: Managed | null;
  taskQueue: string;
  /** The floor's worker, while started. */
  floorWorker: Managed | null;
  floorTaskQueue: string;
  refreshWorkflowId: string;
  /** DBT_REFRESH_MAX_WAIT_MS as the project's worker reads it. */
  refreshMaxWaitMs: number | null;
  warehousePath: string;
  /** The Snowflake emulator the worker writes (BENCH_WAREHOUSE=snowflake), else null. */
  snowflake: BenchSnowflake | null;
  /** The warehouse the project's worker writes, for the report. */
  warehouseLabel: string;
  workerStatsFile: string;
  /** Where the worker's CPU profile goes with BENCH_PROFILE=1. */
  profileDir: string;
  /** Where the floor's worker's CPU profiles go with BENCH_PROFILE=1 (one worker process per floor then). */
  floorProfileDir: string;
  /** The workers' env settings that tune them (WORKER_*), as passed. */
  workerTuning: Record<string, string>;
  /** The project's worker; `env` over the stack's (e.g. the dispatcher on, for bench/src/dispatch.ts). */
  startWorker(env?: NodeJS.ProcessEnv): Promise<Managed>;
  stopWorker(): Promise<void>;
  startFloorWorker(): Promise<Managed>;
  stopFloorWorker(): Promise<void>;
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
      dynamicConfig: cfg.dynamicConfig,
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

    const snowflake = cfg.warehouse === 'snowflake' ? await startBenchSnowflake(cfg.repoRoot) : null;
    if (snowflake) started.push(snowflake.emulator);

    const taskQueue = `bench-${tag}`;
    const floorTaskQueue = `bench-floor-${tag}`;
    const refreshWorkflowId = `bench-refresh-${tag}`;
    const warehousePath = path.join(tmpDir, 'warehouse.duckdb');
    const workerStatsFile = path.join(tmpDir, 'worker-stats.json');
    const workerTuning = Object.fromEntries(
      Object.entries(process.env).filter(
        (e): e is [string, string] =>
          (e[0].startsWith('WORKER_') || e[0].startsWith('MALLOC_')) &&
          e[0] !== 'WORKER_STATS_FILE' &&
          !!e[1],
      ),
    );
    const profileDir = path.join(tmpDir, 'profile');
    const floorProfileDir = path.join(tmpDir, 'profile-floor');
    const workerEnv: NodeJS.ProcessEnv = {
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
      METRICS_PORT: '0',
      ...snowflake?.env,
    };

    /**
     * A worker process, the project's or the floor's, started as `make up` starts the project's: by
     * bin/policy-execution-worker (its process settings) with this Node, the bench's env plus its own.
     */
    const startWorkerProcess = async (name: string, script: string, env: NodeJS.ProcessEnv) => {
      const nodeArgs = cfg.profile
        ? ['--cpu-prof', `--cpu-prof-dir=${name === 'worker' ? profileDir : floorProfileDir}`]
        : [];
      const launcher = path.join(cfg.repoRoot, 'bin', 'policy-execution-worker');
      const proc = startProcess(name, launcher, [...nodeArgs, script], {
        cwd: cfg.repoRoot,
        env: { ...env, NODE: process.execPath },
        logFile: path.join(tmpDir, `${name}.log`),
      });
      started.push(proc);
      await proc.waitFor(/worker ready/, 120_000);
      return proc;
    };

    const stack: Stack = {
      tmpDir,
      tag,
      temporal,
      simulator,
      simulatorUrl,
      worker: null,
      taskQueue,
      floorWorker: null,
      floorTaskQueue,
      refreshWorkflowId,
      refreshMaxWaitMs: loadWorkerConfig(workerEnv).dbt?.maxWaitMs ?? null,
      warehousePath,
      snowflake,
      warehouseLabel: snowflake?.label ?? 'duckdb (a DuckDB file)',
      workerStatsFile,
      profileDir,
      floorProfileDir,
      workerTuning,
      async startWorker(env) {
        stack.worker ??= await startWorkerProcess('worker', path.join(cfg.buildDir, 'src', 'worker.js'), {
          ...workerEnv,
          ...env,
        });
        return stack.worker;
      },
      async stopWorker() {
        await stack.worker?.stop(30_000);
        stack.worker = null;
      },
      async startFloorWorker() {
        stack.floorWorker ??= await startWorkerProcess(
          'floor-worker',
          path.join(cfg.buildDir, 'bench', 'floor', 'worker.js'),
          {
            ...process.env,
            TEMPORAL_ADDRESS: temporal.address,
            TEMPORAL_NAMESPACE: 'default',
            FLOOR_TASK_QUEUE: floorTaskQueue,
            FLOOR_LATENCY_MS: String(cfg.latencyMs),
            ...(cfg.floorIo
              ? { FLOOR_API_URL: simulatorUrl, FLOOR_WAREHOUSE_PATH: path.join(tmpDir, 'floor.duckdb') }
              : {}),
          },
        );
        return stack.floorWorker;
      },
      async stopFloorWorker() {
        await stack.floorWorker?.stop(30_000);
        stack.floorWorker = null;
      },
      stop: stopAll,
    };
    return stack;
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
