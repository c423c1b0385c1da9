// Bundles the workflow code once at build time so workers start fast: every bundle of
// WORKFLOW_BUNDLES (src/plugin/workflows.ts) next to dist/worker.js (dist/workflow-bundle.js).
const fs = require('node:fs');
const path = require('node:path');

const quiet = { info() {}, debug() {}, trace() {}, warn: console.warn, error: console.error, log() {} };

(async () => {
  const { WORKFLOW_BUNDLES, buildWorkflowBundle } = require(
    path.resolve(__dirname, '../dist/plugin/workflows'),
  );
  for (const [kind, { file }] of Object.entries(WORKFLOW_BUNDLES)) {
    const code = await buildWorkflowBundle(kind, quiet);
    fs.writeFileSync(path.resolve(__dirname, '../dist', file), code);
    console.log(`workflow bundle: dist/${file} (${Math.round(code.length / 1024)} KiB)`);
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
