/**
 * The workflow code the plugin contributes (`policyExecution`, `dbtRefresh`) and how it gets into a
 * worker next to the user's own workflows.
 *
 * SimplePlugin's `workflowsPath` replaces the worker's, and a worker loads one workflow module. So,
 * when the user gives a workflowsPath, the plugin writes a small entry module that re-exports both
 * (everything of theirs, and our two workflows by name: CommonJS, `.cjs`) and hands that to the bundler. Why a file
 * on disk, and where: Temporal's bundler (webpack) reads the workflows module from the real file
 * system and generates its own entry next to it, which requires `@temporalio/workflow`; so the entry
 * must sit where that package resolves, and resolve to the same copy the user's workflows import (one
 * workflow runtime per bundle). `node_modules/.cache/policy-execution/` beside the installed
 * `@temporalio/workflow` is such a place (`workflowsEntryDir` overrides it, e.g. for a read-only
 * node_modules). Our names are re-exported explicitly, so they win over a user export of the same name.
 *
 * A worker without workflows of its own runs the pre-built bundle (`make build`,
 * scripts/bundle-workflows.js), or one bundle built on first use.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, type BundleOptions, type WorkerOptions } from '@temporalio/worker';
import { DBT_REFRESH_WORKFLOW_TYPE, WORKFLOW_TYPE } from '../contracts';
import { WORKFLOW_INTERCEPTORS_MODULE } from '../observability/bundle';

/** Our workflows module (src/workflows or dist/workflows). */
export const WORKFLOWS_PATH = path.resolve(__dirname, '..', 'workflows');
/**
 * Preloaded into the bundle's reusable context: the pure rules of src/policy (the input rules' zod
 * schemas, the state transitions, the status mapping, the Web UI details; no module state, no clock
 * or randomness at load), shared by every workflow instead of being evaluated again for each one
 * (docs/performance-log.md, changes 5 and 9).
 */
export const PRELOAD_MODULES: readonly string[] = [
  path.resolve(__dirname, '..', 'policy', 'index'),
  path.resolve(__dirname, '..', 'policy', 'details'),
];

/**
 * The bundle's inline source map without the sources' text (`sourcesContent`): stack traces keep
 * their file:line:column (the SDK maps them with the map's `mappings`), but every workflow thread no
 * longer holds the source text and the base64 it came in (bundle 5.0 -> 2.5 MB; worker peak RSS,
 * docs/performance-log.md, change 12). The SDK reads sources only for `showStackTraceSources`,
 * which the project does not set.
 */
const withoutSourcesContent: NonNullable<BundleOptions['webpackConfigHook']> = (config) => ({
  ...config,
  devtool: 'inline-nosources-source-map',
});

/**
 * zod's error messages in every language it knows (`z.locales`, ~300 KB of the bundle's 1.9 MB of
 * code, most of its non-Latin-1 text) are resolved to an empty module: the input rules use the
 * English messages zod configures for itself (its `en` locale, a module of its own), and nothing
 * of ours reads `z.locales`. Every workflow thread holds the bundle's text, so this is memory in
 * each of them (docs/performance-log.md, change 20). Only our own bundle: a user's workflows
 * bundled by the plugin keep their zod whole.
 */
const ZOD_LOCALES: readonly string[] = ['index.js', 'index.cjs'].map((f) =>
  path.join(path.dirname(require.resolve('zod/v4/locales')), f),
);
const withoutZodLocales: NonNullable<BundleOptions['webpackConfigHook']> = (config) => {
  const alias = config.resolve?.alias ?? {};
  return {
    ...config,
    resolve: {
      ...config.resolve,
      // The SDK's own aliases are an object whose keys may end in `$` (exact match): kept as they are.
      alias: Array.isArray(alias)
        ? [...alias, ...ZOD_LOCALES.map((name) => ({ name, alias: false as const }))]
        : { ...alias, ...Object.fromEntries(ZOD_LOCALES.map((name) => [name, false])) },
    },
  };
};

/** How our workflow code is bundled (by `make build`, the benchmark and the fallback below). */
export function workflowBundlerOptions(): {
  workflowsPath: string;
  preloadModules: string[];
  workflowInterceptorModules: string[];
  webpackConfigHook: NonNullable<BundleOptions['webpackConfigHook']>;
} {
  return {
    workflowsPath: WORKFLOWS_PATH,
    preloadModules: [...PRELOAD_MODULES],
    // Summaries, current details, metrics and tracing in the sandbox (src/observability/workflow/).
    workflowInterceptorModules: [WORKFLOW_INTERCEPTORS_MODULE],
    webpackConfigHook: (config) => withoutZodLocales(withoutSourcesContent(config)),
  };
}

/**
 * Our bundles, pre-built by `make build` (scripts/bundle-workflows.js) under these names next to
 * dist/worker.js; bundling on start is the fallback. One since the refresher runs on the policy
 * workers (docs/design.md, decision 11): `all`, both workflows.
 */
export const WORKFLOW_BUNDLES = {
  all: { file: 'workflow-bundle.js', options: workflowBundlerOptions },
} as const;

/** A workflow bundle of ours. */
export type BundleKind = keyof typeof WORKFLOW_BUNDLES;

/** Where `make build` puts a pre-built bundle. */
function workflowBundlePath(kind: BundleKind): string {
  return path.resolve(__dirname, '..', WORKFLOW_BUNDLES[kind].file);
}

/**
 * The code with every character above U+00FF written as a `\uXXXX` escape. V8 holds a script's
 * source, which every workflow thread keeps, at one byte per character when all of its characters
 * are Latin-1, and at two otherwise: a handful of dashes and arrows in comments and messages doubled
 * the bundle's size in each thread (docs/performance-log.md, change 22). An escape means the same
 * character in a string, a template, a regular expression or an identifier, and is plain text in a
 * comment; a character after a lone backslash (an escape of its own) loses that backslash.
 */
export function latin1Only(code: string): string {
  return code.replace(/(\\*)([\u0100-\uffff])/g, (_, slashes: string, char: string) => {
    const kept = slashes.length % 2 === 1 ? slashes.slice(1) : slashes;
    return `${kept}\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** One of our bundles as `make build` ships it (scripts/bundle-workflows.js): bundled, Latin-1 only. */
export async function buildWorkflowBundle(
  kind: BundleKind,
  logger?: BundleOptions['logger'],
): Promise<string> {
  const { code } = await bundleWorkflowCode({
    ...WORKFLOW_BUNDLES[kind].options(),
    ...(logger ? { logger } : {}),
  });
  return latin1Only(code);
}

const bundled = new Map<BundleKind, Promise<Pick<WorkerOptions, 'workflowBundle'>>>();

/** Our workflow code alone: the pre-built bundle, or one bundle built on first use (not once per Worker). */
export function workflowSource(kind: BundleKind = 'all'): Promise<Pick<WorkerOptions, 'workflowBundle'>> {
  const codePath = workflowBundlePath(kind);
  if (fs.existsSync(codePath)) return Promise.resolve({ workflowBundle: { codePath } });
  let pending = bundled.get(kind);
  if (!pending) {
    pending = buildWorkflowBundle(kind).then(
      (code) => ({ workflowBundle: { code } }),
      (err: unknown) => {
        bundled.delete(kind);
        throw err;
      },
    );
    bundled.set(kind, pending);
  }
  return pending;
}

/** Default home of the generated entry modules: beside the `@temporalio/workflow` that resolves from here. */
function defaultEntryDir(): string {
  const workflowPackage = require.resolve('@temporalio/workflow/package.json');
  const nodeModules = path.resolve(path.dirname(workflowPackage), '..', '..');
  return path.join(nodeModules, '.cache', 'policy-execution');
}

/** The entry modules written by this process. */
const generatedEntries = new Set<string>();

/** `preloadModules` with ours added once. */
export function withPreloadModules(modules: readonly string[] | undefined): string[] {
  return [...new Set([...(modules ?? []), ...PRELOAD_MODULES])];
}

/**
 * The path of an entry module exporting the workflows of `userWorkflowsPath` and ours. Written once
 * per content (the name is its digest), atomically, so concurrent workers never read half a file.
 */
export function combinedWorkflowsPath(userWorkflowsPath: string, entryDir?: string): string {
  const user = path.resolve(userWorkflowsPath);
  if (user === WORKFLOWS_PATH) return WORKFLOWS_PATH;
  // Already combined: Worker.create hands the plugin to the bundler too (configureBundler).
  if (generatedEntries.has(user)) return user;
  // CommonJS with a .cjs name: read as such whatever the package.json around it says ("type").
  const code =
    "// Generated by policy-execution's Temporal plugin: the worker's own workflows and policy-execution's.\n" +
    "'use strict';\n" +
    `const user = require(${JSON.stringify(user)});\n` +
    `const ours = require(${JSON.stringify(WORKFLOWS_PATH)});\n` +
    `module.exports = Object.assign({}, user, { ${WORKFLOW_TYPE}: ours.${WORKFLOW_TYPE}, ${DBT_REFRESH_WORKFLOW_TYPE}: ours.${DBT_REFRESH_WORKFLOW_TYPE} });\n`;
  const dir = path.resolve(entryDir ?? defaultEntryDir());
  const file = path.join(
    dir,
    `workflows-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.cjs`,
  );
  generatedEntries.add(file);
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === code) return file;
  try {
    fs.mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, code);
    fs.renameSync(tmp, file);
  } catch (err) {
    throw new Error(
      `policy-execution plugin: cannot write the workflows entry module in ${dir} (${(err as Error).message}); ` +
        'set the option workflowsEntryDir to a writable directory from which @temporalio/workflow resolves',
    );
  }
  return file;
}

/** What a worker runs, given the workflow options the user gave it. */
export async function workflowOptionsFor(
  options: Pick<WorkerOptions, 'workflowsPath' | 'workflowBundle' | 'bundlerOptions'>,
  entryDir?: string,
): Promise<Pick<WorkerOptions, 'workflowsPath' | 'workflowBundle' | 'bundlerOptions'>> {
  // A bundle the user built: with `bundleWorkflowCode({ ..., plugins: [plugin] })` it holds ours too.
  if (options.workflowBundle) return {};
  if (!options.workflowsPath) return workflowSource();
  return {
    workflowsPath: combinedWorkflowsPath(options.workflowsPath, entryDir),
    bundlerOptions: {
      ...options.bundlerOptions,
      preloadModules: withPreloadModules(options.bundlerOptions?.preloadModules),
    },
  };
}
