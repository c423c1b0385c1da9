/**
 * bin/policy-execution-worker, the way `make up` and the benchmark start a worker: the process
 * settings it applies (docs/performance.md, change 20), that the environment's own values win, and
 * that without arguments it runs the package's worker wherever it is linked from (npm's .bin).
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
  `console.log(JSON.stringify({ arenas: process.env.MALLOC_ARENA_MAX ?? null, execArgv: process.execArgv, argv: process.argv.slice(2) }));`,
);

type Probe = { arenas: string | null; execArgv: string[]; argv: string[] };
const run = (args: string[], env: NodeJS.ProcessEnv = {}, launcher = LAUNCHER): string => {
  const base = { ...process.env };
  delete base.MALLOC_ARENA_MAX;
  delete base.WORKER_NODE_FLAGS;
  return execFileSync(launcher, args, { env: { ...base, NODE: process.execPath, ...env }, encoding: 'utf8' });
};

describe('bin/policy-execution-worker', () => {
  it('runs the script with two malloc arenas and a 2 MB young generation, passing Node options and arguments on', () => {
    const p = JSON.parse(run(['--no-warnings', probe, 'x'])) as Probe;
    expect(p.arenas).toBe('2');
    expect(p.execArgv).toEqual(['--max-semi-space-size=2', '--no-warnings']);
    expect(p.argv).toEqual(['x']);
  });

  it("keeps the environment's own values", () => {
    const p = JSON.parse(
      run([probe], {
        MALLOC_ARENA_MAX: '8',
        WORKER_NODE_FLAGS: '--optimize-for-size --max-semi-space-size=16',
      }),
    ) as Probe;
    expect(p.arenas).toBe('8');
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
    expect(out[0]).toBe('--max-semi-space-size=2');
    expect(path.resolve(out[1] ?? '')).toBe(path.resolve(__dirname, '..', '..', 'dist', 'worker.js'));
  });
});
