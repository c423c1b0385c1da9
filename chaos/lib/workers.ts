/**
 * Worker processes for the chaos suite: the real entry point (dist/worker.js, built by `make build`,
 * started by bin/policy-execution-worker as `make up` starts it), configured through the environment
 * like production, each with its own log file.
 * A pool restarts a worker that dies on its own (what a process supervisor would do) and counts it;
 * `kill()` is the suite's own SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const DIST = path.resolve(__dirname, '../../dist');
const NODE_MODULES = path.resolve(__dirname, '../../node_modules');
const DBT = path.resolve(__dirname, '../../dbt');
const LAUNCHER = path.resolve(__dirname, '../../bin/policy-execution-worker');

/**
 * A private copy of dist/ (built by `make build`) for one run: a `make build` elsewhere during the
 * run (it deletes dist/ first) must not pull the worker out from under the suite. The copy finds the
 * repository's node_modules through NODE_PATH, and the dbt project (with the table definition the
 * worker reads) through a link next to it, where it sits next to dist/ in the repository.
 */
export function snapshotDist(workDir: string): string {
  if (!fs.existsSync(path.join(DIST, 'worker.js')))
    throw new Error(`${DIST}/worker.js is missing: run 'make build' first`);
  const copy = path.join(workDir, 'dist');
  fs.rmSync(copy, { recursive: true, force: true });
  fs.cpSync(DIST, copy, { recursive: true });
  const dbt = path.join(workDir, 'dbt');
  fs.rmSync(dbt, { recursive: true, force: true });
  fs.symlinkSync(DBT, dbt);
  return path.join(copy, 'worker.js');
}

export interface WorkerSpec {
  /** The worker entry point (a snapshot of dist/worker.js). */
  workerJs: string;
  /** Environment on top of the suite's defaults. */
  env: Record<string, string>;
  /** Log file prefix (in the scenario directory). */
  logPrefix: string;
}

export class WorkerProcess {
  readonly child: ChildProcess;
  readonly logFile: string;
  readonly startedAt = Date.now();
  /** Set when the suite killed or stopped it on purpose. */
  intended = false;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(child: ChildProcess, logFile: string) {
    this.child = child;
    this.logFile = logFile;
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        resolve({ code: child.exitCode, signal: child.signalCode });
      } else child.once('exit', (code, signal) => resolve({ code, signal }));
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  static async start(
    workerJs: string,
    env: Record<string, string>,
    logFile: string,
    readyTimeoutMs = 60_000,
  ): Promise<WorkerProcess> {
    const out = fs.createWriteStream(logFile, { flags: 'a' });
    // Through the launcher that `make up` uses (its process settings), with this Node.
    const child = spawn(LAUNCHER, [workerJs], {
      // METRICS_PORT=0: several workers run side by side (no metrics endpoint each).
      env: { ...process.env, NODE: process.execPath, NODE_PATH: NODE_MODULES, METRICS_PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const w = new WorkerProcess(child, logFile);
    child.stderr?.on('data', (d: Buffer) => out.write(d));
    void w.exited.then(() => out.end());
    let seen = '';
    let ready = false;
    await new Promise<void>((resolve, reject) => {
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        clearTimeout(timer);
        reject(new Error(`worker exited during start-up (${code ?? signal}): ${seen.slice(-2000)}`));
      };
      const timer = setTimeout(() => {
        child.off('exit', onExit);
        child.kill('SIGKILL');
        reject(new Error(`worker did not become ready in ${readyTimeoutMs} ms (log: ${logFile})`));
      }, readyTimeoutMs);
      child.once('exit', onExit);
      child.stdout?.on('data', (d: Buffer) => {
        out.write(d);
        if (ready) return;
        seen = (seen + d.toString()).slice(-100_000);
        if (seen.includes('worker ready')) {
          ready = true;
          clearTimeout(timer);
          child.off('exit', onExit);
          resolve();
        }
      });
    });
    return w;
  }

  /** SIGKILL, and wait until the process is gone. */
  async kill(): Promise<void> {
    this.intended = true;
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Graceful stop (SIGTERM: the Temporal runtime drains), SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    this.intended = true;
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

export interface PoolEvent {
  at: number;
  what: string;
}

/** N worker processes with the same configuration; restarts the ones that die on their own. */
export class WorkerPool {
  readonly workers: WorkerProcess[] = [];
  readonly logFiles: string[] = [];
  /** Workers that exited without the suite asking (then restarted). */
  unexpectedExits = 0;
  kills = 0;
  private closed = false;
  private serial = 0;

  constructor(
    private readonly spec: WorkerSpec & { dir: string },
    private readonly onEvent: (e: PoolEvent) => void,
  ) {}

  async start(count: number): Promise<void> {
    await Promise.all(Array.from({ length: count }, () => this.add()));
  }

  private async add(slot?: number): Promise<WorkerProcess> {
    this.serial += 1;
    const logFile = path.join(this.spec.dir, `${this.spec.logPrefix}-${this.serial}.log`);
    this.logFiles.push(logFile);
    const w = await WorkerProcess.start(this.spec.workerJs, this.spec.env, logFile);
    if (slot === undefined) this.workers.push(w);
    else this.workers[slot] = w;
    this.watch(w);
    return w;
  }

  private watch(w: WorkerProcess): void {
    void w.exited.then(async ({ code, signal }) => {
      if (w.intended || this.closed) return;
      this.unexpectedExits += 1;
      this.onEvent({
        at: Date.now(),
        what: `worker pid ${w.pid} exited on its own (${code ?? signal}); restarting`,
      });
      const slot = this.workers.indexOf(w);
      try {
        await this.add(slot >= 0 ? slot : undefined);
      } catch (err) {
        this.onEvent({ at: Date.now(), what: `worker restart failed: ${String(err)}` });
      }
    });
  }

  /** SIGKILL every worker, then (unless told otherwise) start the same number again. */
  async killAll(what: string, restart = true): Promise<void> {
    const victims = this.workers.filter((w) => w.running);
    this.kills += victims.length;
    this.onEvent({ at: Date.now(), what: `SIGKILL ${victims.map((w) => w.pid).join(', ')}: ${what}` });
    await Promise.all(victims.map((w) => w.kill()));
    if (restart && !this.closed) {
      const n = this.workers.length;
      this.workers.length = 0;
      await this.start(n);
    }
  }

  async stop(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.stop()));
  }

  readLogs(): string {
    return this.logFiles
      .filter((f) => fs.existsSync(f))
      .map((f) => fs.readFileSync(f, 'utf8'))
      .join('\n');
  }
}
