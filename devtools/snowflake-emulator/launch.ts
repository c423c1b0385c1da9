/**
 * Starts the Snowflake emulator (README.md beside this file) for tests: one process of
 * `.venv-fakesnow/bin/python -m snowflake_emulator` on a free 127.0.0.1 port, waits until it
 * answers, and stops it. `make deps` builds the venv.
 *
 *   const emulator = await startSnowflakeEmulator();
 *   const connection = snowflake.createConnection({ ...emulator.connectionOptions, database: 'DB', schema: 'S' });
 *   ...
 *   await emulator.stop();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const SOURCE_ROOT = path.resolve(__dirname, '../..');
/** The emulator's Python package and venv, under a repository root. */
const emulatorDir = (root: string) => path.join(root, 'devtools', 'snowflake-emulator');
const emulatorPython = (root: string) =>
  process.env.SNOWFLAKE_EMULATOR_PYTHON ?? path.join(root, '.venv-fakesnow', 'bin', 'python');

const READY_LINE = /snowflake-emulator listening on http:\/\/([\d.]+):(\d+)/;

export interface StartOptions {
  /**
   * The repository root holding devtools/snowflake-emulator and .venv-fakesnow (default: the one this
   * file is in; a compiled copy elsewhere, e.g. the bench's build, passes the repository's).
   */
  repoRoot?: string;
  /** Port to bind; 0 (the default) lets the emulator pick a free one. */
  port?: number;
  /** Keep each database in `<dataDir>/<DATABASE>.db` instead of in memory. */
  dataDir?: string;
  logLevel?: 'debug' | 'info' | 'warning' | 'error';
  startTimeoutMs?: number;
  /**
   * fakesnow's server without the compatibility layer, to see what the layer closes (the default
   * is SNOWFLAKE_EMULATOR_BARE=1 in the environment).
   */
  bare?: boolean;
}

/**
 * The stand-in account workers, dbt and the suites log in with on the emulator (it accepts any):
 * the SNOWFLAKE_* settings besides the endpoint (`SnowflakeEmulator.env`).
 */
export const EMULATOR_ACCOUNT_ENV = {
  SNOWFLAKE_ACCOUNT: 'emulator',
  SNOWFLAKE_USER: 'policy_worker',
  SNOWFLAKE_PASSWORD: 'emulator',
  SNOWFLAKE_ROLE: 'POLICY_EXECUTION',
  SNOWFLAKE_WAREHOUSE: 'POLICY_WH',
  SNOWFLAKE_DATABASE: 'POLICY_DB',
  SNOWFLAKE_SCHEMA: 'POLICY',
} as const;

export interface SnowflakeEmulator {
  host: string;
  port: number;
  protocol: 'http';
  /** Milliseconds from spawning the process to its first answer. */
  startupMs: number;
  /** account/username/password (any are accepted) and the endpoint, for snowflake.createConnection. */
  connectionOptions: {
    account: string;
    username: string;
    password: string;
    host: string;
    port: number;
    protocol: 'http';
  };
  /** SNOWFLAKE_HOST / SNOWFLAKE_PORT / SNOWFLAKE_PROTOCOL, as dbt/profiles.yml reads them. */
  env: Record<'SNOWFLAKE_HOST' | 'SNOWFLAKE_PORT' | 'SNOWFLAKE_PROTOCOL', string>;
  /** What the process printed so far (stdout and stderr). */
  output(): string;
  /**
   * Asks for a fault (snowflake_emulator/faults.py: statements held past a client's timeout, expired
   * tokens); returns the fault state.
   */
  faults(request: FaultRequest): Promise<FaultState>;
  /** Kills the process at once with `signal` (a crash; `stop` is the orderly end). */
  kill(signal: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

export type FaultRequest =
  | { delay_ms: number; count?: number; match?: string }
  | { expire: 'session' | 'master' }
  | { clear: true }
  /** Nothing changes: the fault state only. */
  | Record<string, never>;

export interface FaultState {
  pending_delays: number;
  delayed: number;
  expired: number;
  renewed: number;
}

export async function startSnowflakeEmulator(options: StartOptions = {}): Promise<SnowflakeEmulator> {
  const root = options.repoRoot ?? SOURCE_ROOT;
  const python = emulatorPython(root);
  if (!fs.existsSync(python)) {
    throw new Error(`${python} not found: run \`make deps\` (it builds .venv-fakesnow)`);
  }
  const args = ['-m', 'snowflake_emulator', '--host', '127.0.0.1', '--port', String(options.port ?? 0)];
  if (options.dataDir) args.push('--data-dir', options.dataDir);
  if (options.logLevel) args.push('--log-level', options.logLevel);
  if (options.bare ?? process.env.SNOWFLAKE_EMULATOR_BARE === '1') args.push('--bare');
  const started = Date.now();
  const child = spawn(python, args, {
    cwd: emulatorDir(root),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const stop = () => stopProcess(child);

  try {
    const { host, port } = await waitForReadyLine(child, () => output, options.startTimeoutMs ?? 60_000);
    await waitForHealth(host, port, started + (options.startTimeoutMs ?? 60_000));
    const startupMs = Date.now() - started;
    return {
      host,
      port,
      protocol: 'http',
      startupMs,
      connectionOptions: {
        account: 'emulator',
        username: 'emulator',
        password: 'emulator',
        host,
        port,
        protocol: 'http',
      },
      env: { SNOWFLAKE_HOST: host, SNOWFLAKE_PORT: String(port), SNOWFLAKE_PROTOCOL: 'http' },
      output: () => output,
      faults: async (request) => {
        const res = await fetch(`http://${host}:${port}/emulator/faults`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(request),
        });
        if (!res.ok) throw new Error(`emulator faults: HTTP ${res.status}`);
        return (await res.json()) as FaultState;
      },
      kill: (signal) => stopProcess(child, signal),
      stop,
    };
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n--- emulator output ---\n${output}`);
  }
}

function waitForReadyLine(
  child: ChildProcess,
  output: () => string,
  timeoutMs: number,
): Promise<{ host: string; port: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`emulator not ready after ${timeoutMs} ms`)), timeoutMs);
    const onData = () => {
      const match = READY_LINE.exec(output());
      if (match?.[1] && match[2]) finish(undefined, { host: match[1], port: Number(match[2]) });
    };
    const onExit = (code: number | null) =>
      finish(new Error(`emulator exited (code ${code}) before it was ready`));
    function finish(err?: Error, value?: { host: string; port: number }) {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(value!);
    }
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
    onData();
  });
}

async function waitForHealth(host: string, port: number, deadline: number): Promise<void> {
  for (;;) {
    try {
      const res = await fetch(`http://${host}:${port}/emulator/health`);
      if (res.ok) return;
    } catch {
      // not answering yet
    }
    if (Date.now() > deadline) throw new Error(`emulator on ${host}:${port} does not answer`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill(signal);
  });
}
