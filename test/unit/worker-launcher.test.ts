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

/** A script that reports what its process was started with. */
const probe = path.join(dir, 'probe.js');
fs.writeFileSync(
  probe,
  `const e = process.env; console.log(JSON.stringify({ arenas: e.MALLOC_ARENA_MAX ?? null, mmap: e.MALLOC_MMAP_THRESHOLD_ ?? null, trim: e.MALLOC_TRIM_THRESHOLD_ ?? null, pool: e.UV_THREADPOOL_SIZE ?? null, execArgv: process.execArgv, argv: process.argv.slice(2) }));`,
);

type Probe = {
  arenas: string | null;
  mmap: string | null;
  trim: string | null;
  pool: string | null;
  execArgv: string[];
  argv: string[];
};
const FLAGS = ['--max-semi-space-size=2', '--heap-growing-percent=50'];
const run = (args: string[], env: NodeJS.ProcessEnv = {}, launcher = LAUNCHER): string => {
  const base = { ...process.env };
  delete base.MALLOC_ARENA_MAX;
  delete base.MALLOC_MMAP_THRESHOLD_;
  delete base.MALLOC_TRIM_THRESHOLD_;
  delete base.UV_THREADPOOL_SIZE;
  delete base.WORKER_NODE_FLAGS;
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
