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
  // The build's own bundler options: the same as `make build` uses (older sources: workflows only).
  const worker = (await import(path.join(src, 'worker.js'))) as {
    workflowBundlerOptions?: () => { workflowsPath: string; preloadModules: string[] };
  };
  const { code } = await bundleWorkflowCode({
    ...(worker.workflowBundlerOptions?.() ?? { workflowsPath: path.join(src, 'workflows') }),
    logger: quiet,
  });
  fs.writeFileSync(path.join(src, 'workflow-bundle.js'), code);
  const floor = await bundleWorkflowCode({ workflowsPath: FLOOR_WORKFLOWS_PATH, logger: quiet });
  fs.writeFileSync(FLOOR_BUNDLE_PATH, floor.code);
  console.log(
    `bench build: ${path.relative(REPO_ROOT, build)} (workflow bundle ${Math.round(code.length / 1024)} KiB, ` +
      `floor ${Math.round(floor.code.length / 1024)} KiB)`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
