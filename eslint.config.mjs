// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

// Every Node built-in (workflow code may import none of them), bare and with the `node:` prefix.
const nodeBuiltins = builtinModules.filter((m) => !m.startsWith('_') && !m.startsWith('node:'));

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      'dist-devtools/',
      '.venv/',
      '.venv-fakesnow/',
      '.local/',
      'dbt/',
      'coverage/',
      'chaos/results/',
      'bench/results/',
      // A separate user project (its own package.json; test/integration/example-project.test.ts builds it).
      'examples/temporal-worker/',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Workflow code and the pure rules it imports run in Temporal's deterministic sandbox.
    // So do the workflow interceptors (src/observability/workflow/) and the metric names they use.
    files: [
      'src/workflows/**/*.ts',
      'src/policy/**/*.ts',
      'src/contracts.ts',
      'src/observability/workflow/**/*.ts',
      'src/observability/metric-names.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.flatMap((m) => [
            { name: m, message: 'Workflow code must not import Node built-ins.' },
            { name: `node:${m}`, message: 'Workflow code must not import Node built-ins.' },
          ]),
          patterns: [
            {
              group: ['**/activities/*', '!**/activities/types'],
              allowTypeImports: true,
              message: 'Workflows import activity types only.',
            },
          ],
        },
      ],
      'no-restricted-globals': ['error', 'process', 'Buffer', 'setTimeout', 'setInterval', 'require'],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js', '**/*.cjs', 'bin/*'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['scripts/**/*.js', 'devtools/**/*.js', '**/*.cjs', 'bin/*'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
        console: 'readonly',
        process: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
