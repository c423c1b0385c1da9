/**
 * Runs scenarios (lanes side by side) against a Temporal dev server the suite owns, and collects
 * their results into one report.
 */
import fs from 'node:fs';
import path from 'node:path';
import { makeToken } from '../../test/fixtures/secrets';
import { zeroCounts, type ScenarioResult } from './counts';
import { runScenario } from './run-scenario';
import type { Scenario, Size } from './scenario';
import { connectClient, DevServer } from './temporal';
import { snapshotDist } from './workers';

export interface ChaosReport {
  size: Size;
  startedAt: string;
  durationMs: number;
  totalExecutions: number;
  pass: boolean;
  scenarios: ScenarioResult[];
}

export async function runChaos(opts: {
  size: Size;
  lanes: Scenario[][];
  workDir: string;
  /** Use this server (the test suite's) instead of starting one; dedicated-server scenarios still start their own. */
  temporalAddress?: string;
  log?: (line: string) => void;
}): Promise<ChaosReport> {
  const log = opts.log ?? (() => undefined);
  fs.mkdirSync(opts.workDir, { recursive: true });
  const started = Date.now();
  const token = makeToken();
  const workerJs = snapshotDist(opts.workDir);
  const servers: DevServer[] = [];
  let address = opts.temporalAddress;
  if (address === undefined) {
    const server = await DevServer.start(path.join(opts.workDir, 'temporal.db'));
    servers.push(server);
    address = server.address;
  }
  const shared = await connectClient(address);
  const results = new Map<string, ScenarioResult>();
  try {
    await Promise.all(
      opts.lanes.map(async (lane) => {
        for (const scenario of lane) {
          const dir = path.join(opts.workDir, scenario.name);
          fs.mkdirSync(dir, { recursive: true });
          log(`chaos: ${scenario.name} starting`);
          let own: DevServer | null = null;
          let ownClient: Awaited<ReturnType<typeof connectClient>> | null = null;
          try {
            if (scenario.dedicatedTemporal) {
              own = await DevServer.start(path.join(dir, 'temporal.db'));
              servers.push(own);
              ownClient = await connectClient(own.address);
            }
            const server = own;
            const result = await runScenario(scenario, {
              client: ownClient?.client ?? shared.client,
              temporalAddress: own?.address ?? address,
              dir,
              size: opts.size,
              token,
              workerJs,
              restartTemporal: server ? (signal, downMs) => server.restart(signal, downMs) : undefined,
            });
            if (server) result.metrics.temporal_restarts = server.restarts;
            results.set(scenario.name, result);
            log(
              `chaos: ${scenario.name} ${result.pass ? 'passed' : 'FAILED'} in ${Math.round(result.durationMs / 1000)} s ` +
                `(${result.counts.executions} executions)`,
            );
          } catch (err) {
            log(`chaos: ${scenario.name} crashed: ${String(err)}`);
            results.set(scenario.name, crashedResult(scenario, err));
          } finally {
            await ownClient?.close();
            await own?.stop();
          }
        }
      }),
    );
  } finally {
    await shared.close();
    await Promise.all(servers.map((s) => s.stop()));
  }
  const order = opts.lanes.flat().map((s) => s.name);
  const scenarios = order.map((n) => results.get(n)).filter((r): r is ScenarioResult => r !== undefined);
  return {
    size: opts.size,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    totalExecutions: scenarios.reduce((n, s) => n + s.counts.executions, 0),
    pass: scenarios.length === order.length && scenarios.every((s) => s.pass),
    scenarios,
  };
}

function crashedResult(scenario: Scenario, err: unknown): ScenarioResult {
  return {
    name: scenario.name,
    title: scenario.title,
    pass: false,
    durationMs: 0,
    counts: zeroCounts(),
    metrics: {},
    events: [],
    violations: [`scenario crashed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`],
    byLabel: {},
  };
}
