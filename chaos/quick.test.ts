/**
 * The quick subset of the chaos suite (`make chaos` runs all of it, bigger): API faults, the
 * circuit breaker, bad input, hostile responses, secrets, endings from outside (terminate,
 * reset) and the worker on Snowflake (the emulator) through expired sessions, each checked
 * against every invariant (none lost, the row follows the latest run, no more API effects than the
 * keys allow, poll counts, error messages, no step backwards, no secret anywhere). Real parts: the shared dev server, worker processes from dist/, the simulator over
 * HTTP, DuckDB files, the Snowflake emulator.
 *
 * Part of `make test` (the integration project in vitest.config.mts, which gives it the shared dev
 * server), kept here beside the suite so that test/ imports nothing from chaos/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runChaos, type ChaosReport } from './lib/runner';
import { QUICK_LANES, QUICK_SCENARIOS } from './scenarios';

let report: ChaosReport;
let workDir: string;

beforeAll(async () => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chaos-quick-'));
  // Three lanes of two, the endings (mostly waiting) in a fourth and the Snowflake scenario in a
  // fifth: fast enough, and light enough on CPU to run beside the other test files.
  report = await runChaos({
    size: 'quick',
    lanes: QUICK_LANES,
    workDir,
    temporalAddress: inject('temporalAddress'),
  });
});

afterAll(() => {
  if (report?.pass) fs.rmSync(workDir, { recursive: true, force: true });
  else if (workDir) console.error(`chaos quick subset: logs kept in ${workDir}`);
});

describe('chaos quick subset', () => {
  it.each(QUICK_SCENARIOS.map((s) => s.name))('%s: every invariant holds', (name) => {
    const result = report.scenarios.find((s) => s.name === name);
    expect(result, `${name} did not run`).toBeDefined();
    expect(result?.violations).toEqual([]);
    expect(result?.counts.executions).toBeGreaterThan(0);
  });
});
