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

/**
 * Writes the build's workflow bundles next to its worker.js as `make build` makes them; returns
 * their sizes for the log. Older sources (before the dbt worker's bundle) have one bundle of the
 * workflows, made with their `workflowBundlerOptions` where they have it.
 */
async function buildBundles(src: string): Promise<string> {
  const plugin = (await import(path.join(src, 'plugin', 'workflows.js')).catch(() => ({}))) as {
    WORKFLOW_BUNDLES?: Record<string, { file: string }>;
    buildWorkflowBundle?: (kind: string, logger: typeof quiet) => Promise<string>;
  };
  const written: { file: string; code: string }[] = [];
  if (plugin.WORKFLOW_BUNDLES && plugin.buildWorkflowBundle) {
    for (const [kind, { file }] of Object.entries(plugin.WORKFLOW_BUNDLES))
      written.push({ file, code: await plugin.buildWorkflowBundle(kind, quiet) });
  } else {
    const worker = (await import(path.join(src, 'worker.js'))) as {
      workflowBundlerOptions?: () => { workflowsPath: string; preloadModules: string[] };
    };
    const options = worker.workflowBundlerOptions?.() ?? { workflowsPath: path.join(src, 'workflows') };
    const { code } = await bundleWorkflowCode({ ...options, logger: quiet });
    written.push({ file: 'workflow-bundle.js', code });
  }
  for (const { file, code } of written) fs.writeFileSync(path.join(src, file), code);
  return written.map(({ file, code }) => `${file} ${Math.round(code.length / 1024)} KiB`).join(', ');
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
