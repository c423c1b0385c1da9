// The rooms of this repository and what each may import (docs/design.md, "Rooms"). `make lint`
// fails on an import circle or on a room importing one it may not.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import circle anywhere.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'product-imports-no-tooling',
      severity: 'error',
      comment: 'src/ is the product: it never imports dev tooling or verification code.',
      from: { path: '^src/' },
      to: { path: '^(devtools|test|chaos|bench|examples)/' },
    },
    {
      name: 'devtools-imports-no-verification',
      severity: 'error',
      comment: 'devtools/ serves test, chaos and bench; it imports none of them.',
      from: { path: '^devtools/' },
      to: { path: '^(test|chaos|bench)/' },
    },
    {
      name: 'simulator-stands-alone',
      severity: 'error',
      comment: 'The policy API simulator is a stand-in for an external service: nothing of src/.',
      from: { path: '^devtools/simulator/' },
      to: { path: '^src/' },
    },
    {
      name: 'test-imports-no-chaos-or-bench',
      severity: 'error',
      from: { path: '^test/' },
      to: { path: '^(chaos|bench)/' },
    },
    {
      name: 'chaos-imports-no-test-or-bench',
      severity: 'error',
      comment: 'chaos/ may read the shared fixtures (test/fixtures/), nothing else of test/.',
      from: { path: '^chaos/' },
      to: { path: '^(bench/|test/(?!fixtures/))' },
    },
    {
      name: 'bench-imports-no-test-or-chaos',
      severity: 'error',
      comment: 'bench/ may read the shared fixtures (test/fixtures/), nothing else of test/.',
      from: { path: '^bench/' },
      to: { path: '^(chaos/|test/(?!fixtures/))' },
    },
    {
      name: 'pure-rules-stay-pure',
      severity: 'error',
      comment:
        'src/policy/ holds the pure rules (validation, status mapping, transitions): no I/O, no Node ' +
        'built-ins, nothing else of src/.',
      from: { path: '^src/policy/' },
      to: {
        pathNot: ['^src/policy/', '^node_modules/zod/'],
      },
    },
    {
      name: 'contracts-are-definitions',
      severity: 'error',
      comment: 'src/contracts.ts holds names, signals, queries and payload types only.',
      from: { path: '^src/contracts\\.ts$' },
      to: {
        pathNot: ['^src/policy/', '^node_modules/@temporalio/(common|workflow)/'],
      },
    },
    {
      name: 'workflows-are-sandboxed',
      severity: 'error',
      comment:
        'Workflow code runs in the deterministic sandbox: pure rules, contracts and the workflow SDK; ' +
        'activities as types only.',
      from: { path: '^src/workflows/' },
      to: {
        pathNot: [
          '^src/workflows/',
          '^src/policy/',
          '^src/contracts\\.ts$',
          '^node_modules/@temporalio/(common|workflow)/',
        ],
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'workflow-interceptors-are-sandboxed',
      severity: 'error',
      comment:
        'The workflow interceptors (src/observability/workflow/) are bundled with the workflows: pure ' +
        'rules, contracts, the metric names, the workflow SDK and OpenTelemetry only.',
      from: { path: '^src/observability/workflow/' },
      to: {
        pathNot: [
          '^src/observability/workflow/',
          '^src/observability/metric-names\\.ts$',
          '^src/policy/',
          '^src/contracts\\.ts$',
          '^node_modules/@temporalio/(common|workflow|interceptors-opentelemetry)/',
          '^node_modules/@opentelemetry/',
        ],
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'client-library-stands-on-the-rules',
      comment:
        'src/client/ is the client library (start, bulk start, read state): it builds on the pure rules ' +
        'and the contracts only, never on the worker, the warehouse or the CLI.',
      severity: 'error',
      from: { path: '^src/client/' },
      to: {
        path: '^src/',
        pathNot: ['^src/client/', '^src/policy/', '^src/contracts\\.ts$'],
      },
    },
    {
      name: 'plugin-is-top-level-wiring',
      severity: 'error',
      comment:
        'src/plugin/ (the Temporal plugin) wires the worker from every room of src/; only the entry ' +
        'points (src/worker.ts, src/index.ts) import it.',
      from: { path: '^src/', pathNot: ['^src/plugin/', '^src/worker\\.ts$', '^src/index\\.ts$'] },
      to: { path: '^src/plugin/' },
    },
    {
      name: 'workflows-no-node-builtins',
      severity: 'error',
      from: {
        path: '^src/(workflows|policy|observability/workflow)/|^src/(contracts|observability/metric-names)\\.ts$',
      },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|dist-devtools|node_modules|\\.local)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.test.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
