/**
 * bin/policy-execution-worker, the way `make up` and the benchmark start a worker: the process
 * settings it applies (docs/performance-log.md, changes 20, 21 and 24), that the environment's own
 * values win, and that without arguments it runs the package's worker wherever it is linked from
 * (npm's .bin).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const LAUNCHER = path.resolve(__dirname, '..', '..', 'bin', 'policy-execution-worker');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'policy-launcher-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The variables the launcher sets, by the name the probe reports each under. */
const LAUNCHER_VARS = {
  arenas: 'MALLOC_ARENA_MAX',
  mmap: 'MALLOC_MMAP_THRESHOLD_',
  trim: 'MALLOC_TRIM_THRESHOLD_',
  pool: 'UV_THREADPOOL_SIZE',
} as const;

/** A script that reports what its process was started with. */
const probe = path.join(dir, 'probe.js');
fs.writeFileSync(
  probe,
  `const vars = ${JSON.stringify(LAUNCHER_VARS)}; const out = {};
for (const [k, v] of Object.entries(vars)) out[k] = process.env[v] ?? null;
console.log(JSON.stringify({ ...out, execArgv: process.execArgv, argv: process.argv.slice(2) }));`,
);

type Probe = Record<keyof typeof LAUNCHER_VARS, string | null> & { execArgv: string[]; argv: string[] };
const FLAGS = ['--max-semi-space-size=2', '--heap-growing-percent=50'];
const run = (args: string[], env: NodeJS.ProcessEnv = {}, launcher = LAUNCHER): string => {
  const base = { ...process.env };
  for (const name of [...Object.values(LAUNCHER_VARS), 'WORKER_NODE_FLAGS']) delete base[name];
  return execFileSync(launcher, args, { env: { ...base, NODE: process.execPath, ...env }, encoding: 'utf8' });
};

describe('bin/policy-execution-worker', () => {
  it('runs the script with the malloc, libuv pool and V8 heap settings, passing Node options and arguments on', () => {
    const p = JSON.parse(run(['--no-warnings', probe, 'x'])) as Probe;
    expect(p.arenas).toBe('2');
    expect(p.mmap).toBe('131072');
    expect(p.trim).toBe('131072');
    expect(p.pool).toBe('1');
    expect(p.execArgv).toEqual([...FLAGS, '--no-warnings']);
    expect(p.argv).toEqual(['x']);
  });

  it("keeps the environment's own values", () => {
    const p = JSON.parse(
      run([probe], {
        MALLOC_ARENA_MAX: '8',
        MALLOC_MMAP_THRESHOLD_: '65536',
        MALLOC_TRIM_THRESHOLD_: '262144',
        UV_THREADPOOL_SIZE: '4',
        WORKER_NODE_FLAGS: '--optimize-for-size --max-semi-space-size=16',
      }),
    ) as Probe;
    expect(p.arenas).toBe('8');
    expect(p.mmap).toBe('65536');
    expect(p.trim).toBe('262144');
    expect(p.pool).toBe('4');
    expect(p.execArgv).toEqual(['--optimize-for-size', '--max-semi-space-size=16']);
    expect((JSON.parse(run([probe], { WORKER_NODE_FLAGS: '' })) as Probe).execArgv).toEqual([]);
  });

  it("without arguments runs the package's dist/worker.js, also through a symlink (npm's .bin)", () => {
    // NODE stands in for node here and prints what it would run.
    const fakeNode = path.join(dir, 'fake-node');
    fs.writeFileSync(fakeNode, '#!/bin/sh\necho "$@"\n', { mode: 0o755 });
    const link = path.join(dir, 'bin', 'policy-execution-worker');
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(LAUNCHER, link);
    const out = run([], { NODE: fakeNode }, link).trim().split(' ');
    expect(out.slice(0, 2)).toEqual(FLAGS);
    expect(path.resolve(out[2] ?? '')).toBe(path.resolve(__dirname, '..', '..', 'dist', 'worker.js'));
  });
});
