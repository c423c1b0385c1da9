// Bundles the workflow code once at build time so workers start fast (dist/workflow-bundle.js).
const { bundleWorkflowCode } = require('@temporalio/worker');
const fs = require('node:fs');
const path = require('node:path');

(async () => {
  const { code } = await bundleWorkflowCode({
    // The same options as the worker's start-up fallback (workflowsPath, preloaded modules).
    ...require(path.resolve(__dirname, '../dist/worker')).workflowBundlerOptions(),
    logger: { info() {}, debug() {}, trace() {}, warn: console.warn, error: console.error, log() {} },
  });
  fs.writeFileSync(path.resolve(__dirname, '../dist/workflow-bundle.js'), code);
  console.log(`workflow bundle: dist/workflow-bundle.js (${Math.round(code.length / 1024)} KiB)`);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
