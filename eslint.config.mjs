// Lint: typescript-eslint strict + type-checked rules, and the import boundaries of STYLE.md §3.
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

const ctl = 'packages/controller/src';

/** Modules the pure layers must never import. */
const IO_MODULES = [
  'node:*',
  'hono',
  'hono/*',
  '@hono/*',
  'kysely',
  'better-sqlite3',
  'ws',
  '@grpc/*',
  'execa',
];

export default tseslint.config(
  {
    ignores: ['**/node_modules/**', '**/src/gen/**', '**/dist/**', '.data/**', 'test/artifacts/**'],
  },
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [importX.createNodeResolver({ extensions: ['.ts', '.js'] })],
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      '@typescript-eslint/no-confusing-void-expression': 'off',
      '@typescript-eslint/no-unnecessary-condition': [
        'error',
        { allowConstantLoopConditions: true },
      ],
      'import-x/no-cycle': 'error',
      'import-x/no-relative-packages': 'error',
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@ingot/*/src/*'],
              message: "import another package's public exports, not its files",
            },
          ],
        },
      ],
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            // Dependencies point one way: domain ← app ← {api, store, rpc, ws} ← main.
            {
              target: `${ctl}/domain`,
              from: [`${ctl}/app`, `${ctl}/api`, `${ctl}/store`, `${ctl}/rpc`, `${ctl}/ws`],
              message: 'domain is pure',
            },
            {
              target: `${ctl}/app`,
              from: [`${ctl}/api`, `${ctl}/store`, `${ctl}/rpc`, `${ctl}/ws`],
              message: 'app sees only ports',
            },
            { target: `${ctl}/api`, from: [`${ctl}/store`, `${ctl}/rpc`, `${ctl}/ws`] },
            { target: `${ctl}/store`, from: [`${ctl}/api`, `${ctl}/rpc`, `${ctl}/ws`] },
            { target: `${ctl}/rpc`, from: [`${ctl}/api`, `${ctl}/store`, `${ctl}/ws`] },
            // The websocket stream shows events in the API's JSON shape, so it may use api/dto.ts.
            {
              target: `${ctl}/ws`,
              from: [`${ctl}/api`, `${ctl}/store`, `${ctl}/rpc`],
              except: ['./dto.ts'],
            },
            // The controller and the rack agent talk only through proto.
            { target: 'packages/controller', from: 'packages/rack-agent' },
            { target: 'packages/rack-agent', from: 'packages/controller' },
          ],
        },
      ],
    },
  },
  {
    files: [`${ctl}/domain/**/*.ts`],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [...IO_MODULES, '@ingot/proto', '@ingot/proto/*'],
              message: 'the domain is pure: no I/O, no frameworks, no proto',
            },
          ],
        },
      ],
    },
  },
  {
    files: [`${ctl}/**/*.ts`, 'packages/rack-agent/src/**/*.ts'],
    ignores: ['**/rpc/**', '**/testing/**', '**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@ingot/proto', '@ingot/proto/*'],
              message: 'generated proto types stop at rpc/ (STYLE.md §2)',
            },
            {
              group: ['@ingot/*/src/*'],
              message: "import another package's public exports, not its files",
            },
          ],
          paths: [
            {
              name: '@ingot/controller',
              message: 'the agent and the controller talk only through proto',
            },
            {
              name: '@ingot/rack-agent',
              message: 'the agent and the controller talk only through proto',
            },
          ],
        },
      ],
    },
  },
  {
    files: [
      '**/*.test.ts',
      'test/**/*.ts',
      'packages/lab/src/**/*.ts',
      'packages/images/src/**/*.ts',
      '**/testing/**/*.ts',
      '**/scripts/**/*.ts',
    ],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-floating-promises': 'error',
    },
  },
  {
    files: ['**/*.mjs', '**/*.cjs', 'vitest.config.ts'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    // pnpm loads .pnpmfile.cjs as CommonJS.
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', process: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
