/**
 * `make chaos`: every scenario (chaos/scenarios), at least 500 executions, under 20 minutes; writes
 * chaos/results/latest.json and latest.md (the summary table).
 *
 *   CHAOS_ONLY=api-5xx-20pct,secrets   run only these scenarios (results in chaos/results/partial.*)
 *   CHAOS_SIZE=quick                   the small sizes of the `make test` subset
 *   CHAOS_KEEP=1                       keep chaos/results/work (logs, request logs) after a passing run
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeReport } from './lib/report';
import { runChaos, type ChaosReport } from './lib/runner';
import type { Size } from './lib/scenario';
import { ALL_SCENARIOS, LANES } from './scenarios';

const RESULTS = path.resolve(__dirname, 'results');
const only = (process.env.CHAOS_ONLY ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const size: Size = process.env.CHAOS_SIZE === 'quick' ? 'quick' : 'full';
const lanes =
  only.length > 0
    ? LANES.map((l) => l.filter((s) => only.includes(s.name))).filter((l) => l.length > 0)
    : LANES;
const selected = lanes.flat();
const complete = only.length === 0 && size === 'full';

let report: ChaosReport;

beforeAll(async () => {
  const unknown = only.filter((n) => !ALL_SCENARIOS.some((s) => s.name === n));
  if (unknown.length > 0) throw new Error(`unknown scenario(s): ${unknown.join(', ')}`);
  const workDir = path.join(RESULTS, 'work');
  fs.rmSync(workDir, { recursive: true, force: true });
  report = await runChaos({ size, lanes, workDir, log: (line) => console.log(line) });
  const files = writeReport(report, RESULTS, complete ? 'latest' : 'partial');
  // What `make chaos` prints after the run.
  fs.copyFileSync(files.md, path.join(RESULTS, 'last-run.md'));
  console.log(
    `chaos: wrote ${path.relative(process.cwd(), files.json)} and ${path.relative(process.cwd(), files.md)}`,
  );
  if (report.pass && process.env.CHAOS_KEEP !== '1') fs.rmSync(workDir, { recursive: true, force: true });
});

describe('chaos suite', () => {
  if (complete) {
    it('runs at least 500 executions in under 20 minutes', () => {
      expect(report.totalExecutions).toBeGreaterThanOrEqual(500);
      expect(report.durationMs).toBeLessThan(20 * 60_000);
    });
  }
  it.each(selected.map((s) => s.name))('%s: every invariant holds', (name) => {
    const result = report.scenarios.find((s) => s.name === name);
    expect(result, `${name} did not run`).toBeDefined();
    expect(result?.violations).toEqual([]);
  });
});
