/**
 * What one state write costs in the embedded warehouse (`make bench-warehouse`): the project's
 * DuckDbWarehouse on a fresh file in a temp dir, holding it as the worker does.
 *
 * - **latency**: one single-row write every BENCH_WRITE_GAP_MS (40) ms, as the writes of one execution
 *   that runs alone come, one execution id (more would count as executions writing at once, and
 *   the group commit would delay some of them); p50 / p95 of `upsertStates` from call to durable;
 * - **CPU per statement** by batch size: the process's CPU (DuckDB's own threads included) per
 *   upsert statement and per row, for batches of 1, 3, 10 and 50 rows, half of them new executions
 *   and half advancing stored ones, on a table of BENCH_WRITE_TABLE_ROWS (5000) rows.
 *
 * Prints a table and writes bench/results/warehouse-write.json. No Temporal, no network.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initialState, type StateRow } from '../../src/policy/state';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/warehouse';
import { int } from './config';
import { REPO_ROOT } from './env';
import { summarize } from './stats';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function row(id: string, version: number): StateRow {
  return {
    ...initialState({
      executionId: id,
      workflowId: id,
      runId: 'run-1',
      policy: { policy_name: id, rules: ['a', 'b'] },
      at: new Date().toISOString(),
    }),
    state_version: version,
  };
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

async function main(): Promise<void> {
  const gapMs = int('BENCH_WRITE_GAP_MS', 40, 1);
  const latencyN = int('BENCH_WRITE_N', 100, 1);
  const tableRows = int('BENCH_WRITE_TABLE_ROWS', 5000, 1);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warehouse-write-'));
  const wh = new DuckDbWarehouse({ path: path.join(dir, 'warehouse.duckdb') });
  try {
    await wh.init();
    for (let i = 0; i < tableRows; i += 500)
      await wh.upsertStates(Array.from({ length: 500 }, (_, j) => row(`stored-${i + j}`, 1)));

    const latencies: number[] = [];
    for (let i = 0; i < latencyN; i++) {
      const started = performance.now();
      await wh.upsertStates([row('alone', i + 1)]);
      latencies.push(performance.now() - started);
      await sleep(gapMs);
    }

    let fresh = 0;
    let version = 2;
    const perBatch: { rows: number; cpuMsPerStatement: number; cpuMsPerRow: number }[] = [];
    for (const size of [1, 3, 10, 50]) {
      const batches = Math.max(20, Math.round(600 / size));
      const since = process.cpuUsage();
      for (let b = 0; b < batches; b++) {
        const rows = Array.from({ length: size }, (_, i) =>
          i % 2 === 0
            ? row(`new-${fresh++}`, 1)
            : row(`stored-${Math.floor(Math.random() * tableRows)}`, version++),
        );
        await wh.upsertStates(rows);
      }
      const perStatement = cpuMs(since) / batches;
      perBatch.push({ rows: size, cpuMsPerStatement: perStatement, cpuMsPerRow: perStatement / size });
    }

    const latency = summarize(latencies);
    const result = {
      measuredAt: new Date().toISOString(),
      gapMs,
      tableRows,
      singleRowWriteMs: latency,
      perBatch,
      stats: wh.stats(),
    };
    console.log(
      `single-row write, one every ${gapMs} ms (n=${latencyN}): p50 ${latency.p50.toFixed(1)} ms, ` +
        `p95 ${latency.p95.toFixed(1)} ms`,
    );
    console.log('| rows per statement | CPU ms per statement | CPU ms per row |');
    console.log('|---|---|---|');
    for (const b of perBatch)
      console.log(`| ${b.rows} | ${b.cpuMsPerStatement.toFixed(1)} | ${b.cpuMsPerRow.toFixed(2)} |`);
    const out = path.join(REPO_ROOT, 'bench', 'results', 'warehouse-write.json');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
    console.log(`results: ${path.relative(REPO_ROOT, out)}`);
  } finally {
    await wh.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
