/**
 * Prepares the benchmark's private build (`make bench` compiles src/, bench/ and devtools/ into
 * .local/bench/build with bench/tsconfig.json): bundles the workflow code once, next to the build's
 * worker.js (the worker loads a pre-built bundle when there is one, as with `make build`), bundles
 * the floor's workflows (bench/floor) next to the floor's worker the same way, and links
 * the repository's dbt/ and .venv/ so the build's REPO_ROOT finds them, and copies the dbt daemon's
 * Python script next to the build's dbt runner (as `make build` does).
 *
 * A private build, not dist/: other work on the same checkout may rebuild dist/ (rm -rf) at any time.
 */
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { FLOOR_BUNDLE_PATH, FLOOR_WORKFLOWS_PATH } from '../floor/paths';
import { REPO_ROOT } from './env';

const quiet = { info() {}, debug() {}, trace() {}, warn: console.warn, error: console.error, log() {} };

type BundlerOptions = () => { workflowsPath: string; preloadModules: string[] };

/** Writes the build's workflow bundles next to its worker.js; returns their sizes for the log. */
async function buildBundles(src: string): Promise<string> {
  const plugin = (await import(path.join(src, 'plugin', 'workflows.js')).catch(() => ({}))) as {
    WORKFLOW_BUNDLES?: Record<string, { file: string; options: BundlerOptions }>;
    buildWorkflowBundle?: (kind: string, logger: typeof quiet) => Promise<string>;
  };
  const worker = (await import(path.join(src, 'worker.js'))) as { workflowBundlerOptions?: BundlerOptions };
  const bundles = Object.entries(
    plugin.WORKFLOW_BUNDLES ?? {
      all: {
        file: 'workflow-bundle.js',
        options:
          worker.workflowBundlerOptions ??
          (() => ({ workflowsPath: path.join(src, 'workflows'), preloadModules: [] })),
      },
    },
  );
  const sizes: string[] = [];
  for (const [kind, { file, options }] of bundles) {
    const code = plugin.buildWorkflowBundle
      ? await plugin.buildWorkflowBundle(kind, quiet)
      : (await bundleWorkflowCode({ ...options(), logger: quiet })).code;
    fs.writeFileSync(path.join(src, file), code);
    sizes.push(`${file} ${Math.round(code.length / 1024)} KiB`);
  }
  return sizes.join(', ');
}

async function main(): Promise<void> {
  const build = path.resolve(__dirname, '..', '..');
  for (const name of ['dbt', '.venv']) {
    const link = path.join(build, name);
    fs.rmSync(link, { recursive: true, force: true });
    fs.symlinkSync(path.join(REPO_ROOT, name), link);
  }
  const src = path.join(build, 'src');
  fs.copyFileSync(
    path.join(REPO_ROOT, 'src', 'dbt', 'dbt_daemon.py'),
    path.join(src, 'dbt', 'dbt_daemon.py'),
  );
  // The build's own bundles, as `make build` makes them (older sources: one bundle of the workflows).
  const bundles = await buildBundles(src);
  const floor = await bundleWorkflowCode({ workflowsPath: FLOOR_WORKFLOWS_PATH, logger: quiet });
  fs.writeFileSync(FLOOR_BUNDLE_PATH, floor.code);
  console.log(
    `bench build: ${path.relative(REPO_ROOT, build)} (workflow bundles ${bundles}, ` +
      `floor ${Math.round(floor.code.length / 1024)} KiB)`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
