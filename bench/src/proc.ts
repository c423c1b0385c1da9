/**
 * Child processes of the benchmark and what /proc says about them: CPU seconds (user + system, own
 * and reaped children separately), current and peak RSS, and the machine's CPU counters.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';

/** Linux USER_HZ: /proc reports CPU times in these ticks (100 on every mainstream kernel). */
const TICKS_PER_SECOND = 100;

export interface ProcSample {
  /** CPU seconds of the process itself (utime + stime). */
  cpuS: number;
  /** CPU seconds of its children that it has waited for (cutime + cstime), e.g. dbt runs. */
  childCpuS: number;
  rssMb: number;
  /** Peak RSS so far (VmHWM). */
  peakRssMb: number;
}

export function readProc(pid: number): ProcSample | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const tick = (i: number) => Number(fields[i] ?? 0) / TICKS_PER_SECOND;
    // fields[0] is field 3 (state): utime = field 14 -> index 11, stime 12, cutime 13, cstime 14.
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    return {
      cpuS: tick(11) + tick(12),
      childCpuS: tick(13) + tick(14),
      rssMb: kb('VmRSS') / 1024,
      peakRssMb: kb('VmHWM') / 1024,
    };
  } catch {
    return null;
  }
}

/** Whole-machine CPU seconds (all cores): busy and total, from /proc/stat. */
export function readMachineCpu(): { busyS: number; totalS: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busyS: (total - idle) / TICKS_PER_SECOND, totalS: total / TICKS_PER_SECOND };
}

export function loadAverage(): [number, number, number] {
  const [a, b, c] = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').map(Number);
  return [a ?? 0, b ?? 0, c ?? 0];
}

export interface Managed {
  name: string;
  child: ChildProcess;
  pid: number;
  /** Last lines of its output. */
  output(): string;
  /** Resolves once a line of output matches. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<void>;
  /** SIGTERM, then SIGKILL after graceMs. Resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts a process we own (and will stop by pid). Output goes to `logFile` and a short tail. */
export function startProcess(
  name: string,
  command: string,
  args: string[],
  opts: { env: NodeJS.ProcessEnv; cwd: string; logFile: string },
): Managed {
  const log = fs.createWriteStream(opts.logFile);
  const child = spawn(command, args, { env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  let tail = '';
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  const onData = (d: Buffer) => {
    log.write(d);
    tail = (tail + d.toString('utf8')).slice(-8000);
    for (const w of [...waiters]) {
      if (w.pattern.test(tail)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => log.end());
  const pid = child.pid;
  return {
    name,
    child,
    pid,
    output: () => tail,
    waitFor(pattern, timeoutMs) {
      if (pattern.test(tail)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`${name} not ready after ${timeoutMs} ms:\n${tail.slice(-2000)}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        waiters.push({ pattern, resolve: done });
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`${name} exited (code ${child.exitCode}) during start-up:\n${tail.slice(-2000)}`));
        });
      });
    },
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Samples processes every `intervalMs` (RSS and CPU timelines) until stopped. */
export class Sampler {
  readonly samples: { t: number; byName: Record<string, ProcSample | null>; machine: { busyS: number } }[] =
    [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly pids: Record<string, number>) {}

  start(intervalMs: number): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): void {
    const byName: Record<string, ProcSample | null> = {};
    for (const [name, pid] of Object.entries(this.pids)) byName[name] = readProc(pid);
    this.samples.push({ t: Date.now(), byName, machine: { busyS: readMachineCpu().busyS } });
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample();
  }

  /** The sample at or just after `t` (or the last one). */
  at(t: number) {
    return this.samples.find((s) => s.t >= t) ?? this.samples.at(-1);
  }

  /** CPU seconds (or another counter) a process used between two times. */
  delta(name: string, from: number, to: number, field: keyof ProcSample = 'cpuS'): number {
    const a = this.at(from)?.byName[name];
    const b = this.at(to)?.byName[name];
    return a && b ? b[field] - a[field] : NaN;
  }
}
