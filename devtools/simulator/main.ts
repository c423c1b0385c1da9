/**
 * Process entry for the policy API simulator.
 *
 *   SIMULATOR_PORT        default 8787
 *   SIMULATOR_HOST        default 127.0.0.1
 *   SIMULATOR_LATENCY_MS  default 0
 *   SIMULATOR_LOG=1       one line per request
 */
import { startSimulator, type Simulator } from './server';

function intFromEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  const port = intFromEnv('SIMULATOR_PORT', 8787, 0, 65535);
  const host = process.env.SIMULATOR_HOST?.trim() || '127.0.0.1';
  const defaultLatencyMs = intFromEnv('SIMULATOR_LATENCY_MS', 0, 0, 600_000);
  const logRequests = process.env.SIMULATOR_LOG === '1';

  // Installed before listening, so a signal during start-up also ends the process cleanly.
  let sim: Simulator | null = null;
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    if (logRequests) console.log(`policy API simulator: ${signal}, shutting down`);
    if (sim === null) process.exit(0);
    const force = setTimeout(() => process.exit(0), 5_000);
    force.unref();
    sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  try {
    sim = await startSimulator({
      port,
      host,
      defaultLatencyMs,
      log: logRequests ? (line) => console.log(line) : undefined,
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'EADDRINUSE') {
      console.error(`port ${port} is already in use (set SIMULATOR_PORT to use another)`);
    } else {
      console.error(
        `policy API simulator failed to start: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    process.exit(1);
  }
  console.log(`policy API simulator listening on ${sim.url}`);
}

main().catch((err: unknown) => {
  console.error('policy API simulator crashed:', err);
  process.exit(1);
});
