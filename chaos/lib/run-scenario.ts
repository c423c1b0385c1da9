/**
 * Runs one chaos scenario start to finish: its own policy API simulator and warehouse sampler, the
 * fault plan (the scenario's `run`), the wait for every execution to close (and for the workers'
 * reconcilers to write the endings of runs ended from outside), then the invariants (invariants.ts),
 * checked from the state table, the simulator's request log, Temporal and everything a secret could
 * leak into.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { StateRow } from '../../src/policy';
import { startSimulator } from '../../devtools/simulator/server';
import { findSecret } from '../../test/fixtures/secrets';
import type { ScenarioResult } from './counts';
import { settleEndings } from './endings';
import { checkInvariants } from './invariants';
import { StateSampler } from './sampler';
import { ScenarioContext, type CollectedData, type Scenario, type ScenarioEnv } from './scenario';
import { awaitOutcome } from './temporal';
import { ChaosSnowflake } from './snowflake';

/** Runs one scenario start to finish and returns its figures; never throws for a failed invariant. */
export async function runScenario(scenario: Scenario, env: ScenarioEnv): Promise<ScenarioResult> {
  fs.mkdirSync(env.dir, { recursive: true });
  let ctx: ScenarioContext | null = null;
  const sim = await startSimulator({ port: 0, quiet: true, onRequest: (e) => ctx?.dispatchRequest(e) });
  const snowflake =
    scenario.warehouse === 'snowflake'
      ? await ChaosSnowflake.start(env.dir).catch(async (err: unknown) => {
          await sim.close();
          throw err;
        })
      : null;
  ctx = new ScenarioContext(scenario, env, sim, snowflake);
  const c = ctx;
  const sampler = new StateSampler(c.rows, 2500);
  sampler.start();
  const started = Date.now();
  let crashed: string | null = null;
  try {
    try {
      await scenario.run(c);
    } catch (err) {
      crashed = `scenario run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
      c.note(crashed);
    }
    const settleDeadline = Date.now() + (scenario.settleMs ?? 180_000);
    await Promise.all(
      c.executions.map(async (e) => {
        e.outcome = await awaitOutcome(e.handle, settleDeadline);
      }),
    );
    // Executions ended from outside: their rows are the workers' reconcilers' to fix.
    await settleEndings(c, sampler);
    await sampler.stop();
    await Promise.all(c.pools.map((p) => p.stop()));
    // An endpoint a fault left down comes back for the final read.
    if (snowflake && !snowflake.up) await snowflake.restart();
    const rows = await c.rows.readAllRows();
    for (const r of rows) sampler.observe(r);
    const requests = sim.requests();
    // For looking into a failure (the work directory is kept when the run fails, or with CHAOS_KEEP=1).
    fs.writeFileSync(
      path.join(env.dir, 'requests.jsonl'),
      requests
        .map((r) => JSON.stringify({ ...r, authorizationHeader: r.authorizationHeader ? '(set)' : null }))
        .join('\n'),
    );
    const data: CollectedData = { rows, requests };
    if (scenario.after) {
      try {
        c.violations.push(...(await scenario.after(c, data)));
      } catch (err) {
        c.violations.push(`after-checks failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    const secretHits = await scanForSecrets(c, rows);
    const result = checkInvariants({ ctx: c, rows, requests, regressions: sampler.regressions, secretHits });
    if (crashed) result.violations.unshift(crashed);
    result.pass = result.violations.length === 0;
    result.durationMs = Date.now() - started;
    result.metrics.sampler_reads = sampler.samples;
    result.metrics.sampler_reads_skipped_busy = sampler.skipped;
    return result;
  } finally {
    await Promise.all(c.pools.map((p) => p.stop()));
    await sampler.stop().catch(() => undefined);
    // Leave nothing running on the shared server.
    await Promise.all(
      c.executions
        .filter((e) => !e.outcome?.closed)
        .map((e) => e.handle.terminate('chaos scenario over').catch(() => undefined)),
    );
    await sim.close();
    await c.rows.close();
  }
}

/** Where the token (or any 8-character piece of it) turns up: rows, histories, logs, extra texts. */
async function scanForSecrets(ctx: ScenarioContext, rows: StateRow[]): Promise<string[]> {
  const token = ctx.env.token;
  const hits: string[] = [];
  const scan = (where: string, text: string) => {
    const piece = findSecret(text, token);
    if (piece !== null) hits.push(`${where} contains ${piece}`);
  };
  for (const row of rows) scan(`state row ${row.execution_id}`, JSON.stringify(row));
  for (const pool of ctx.pools) scan(`worker logs (${pool.logFiles.length} files)`, pool.readLogs());
  for (const t of ctx.scanTexts) scan(t.where, t.text);
  // Every execution's history, payloads decoded.
  for (let i = 0; i < ctx.executions.length; i += 20) {
    await Promise.all(
      ctx.executions.slice(i, i + 20).map(async (e) => {
        try {
          const history = await e.handle.fetchHistory();
          // protobufjs messages serialize bytes as base64 (payload data), decoded below.
          const json = JSON.stringify(history);
          const payloads = [...json.matchAll(/"data":\s*"([A-Za-z0-9+/=]+)"/g)].map((m) =>
            Buffer.from(m[1] ?? '', 'base64').toString('utf8'),
          );
          const decoded = [json, ...payloads].join('\n');
          // Not vacuous: the history was read and its payloads (at least the input) decoded.
          if (payloads.length === 0 || !json.includes('policyExecution')) {
            hits.push(`history of ${e.workflowId}: payloads were not decoded, so it was not really scanned`);
          }
          scan(`history of ${e.workflowId}`, decoded);
        } catch (err) {
          hits.push(`history of ${e.workflowId} could not be read: ${String(err)}`);
        }
      }),
    );
  }
  return hits;
}
