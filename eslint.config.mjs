// @ts-check
/**
 * Lint: typescript-eslint's recommended rules, Prettier for layout (eslint-config-prettier turns
 * off the rules it owns), and the architecture rules of docs/ARCHITECTURE.md:
 *  - no import cycles anywhere in src/ (import-x/no-cycle);
 *  - layers point one way (import-x/no-restricted-paths: a lower layer never imports a higher one);
 *  - a feature module reaches another module only through its public index.ts;
 *  - no file over 400 lines and no function over 80 lines in src/ (generated code excepted).
 * `npm run lint` runs it with --max-warnings 0, in CI before the tests.
 */
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import prettier from 'eslint-config-prettier';
import globals from 'globals';

import { createRequire } from 'node:module';

const { LAYERS } = createRequire(import.meta.url)('./scripts/architecture.cjs');
const zonePath = (p) => `./${p.replace(/\/$/, '')}`;
/** One zone per layer: its files may not import any layer above it (scripts/architecture.cjs). */
const layerZones = LAYERS.flatMap((layer, rank) => {
  const below = LAYERS.slice(rank).flatMap((l) => l.paths);
  return LAYERS.slice(0, rank).flatMap((above) =>
    above.paths.map((from) => ({
      target: layer.paths.map(zonePath),
      from: zonePath(from),
      // A lower layer nested inside a higher one's folder (src/modules/stock inside src/modules).
      except: below.filter((b) => b !== from && b.startsWith(from)).map((b) => `./${b.slice(from.length).replace(/\/$/, '')}`),
      message: `${layer.name} is below ${above.name} (docs/ARCHITECTURE.md, scripts/architecture.cjs)`,
    })),
  );
});

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      'src/generated/**',
      'clients/typescript/src/generated/**',
      // Written by graphql-codegen (npm run codegen).
      'clients/typescript/src/gql/**',
      'clients/typescript/dist/**',
      'clients/**/node_modules/**',
      'test/clients/relay/__generated__/**',
      'test-artifacts/**',
      'data/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [importX.createNodeResolver({ extensions: ['.ts', '.js', '.json'] })],
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { zones: layerZones }],
      'max-lines': ['error', { max: 400 }],
      'max-lines-per-function': ['error', { max: 80 }],
    },
  },
  {
    // A feature module reaches another one only through its public index.ts.
    files: ['src/modules/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\.\\./[^./][^/]*/(?!index$|graphql$)[^/]+$',
              message:
                "Import another module through its public index (e.g. '../stock') or its graphql.ts (GraphQL types), not a file inside it.",
            },
          ],
        },
      ],
    },
  },
  {
    // Tests, the bench, scripts and examples read untyped JSON answers all the time.
    files: ['test/**/*.ts', 'bench/**/*.ts', 'examples/**/*.ts', 'clients/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Tests load some modules lazily with require(), after reflect-metadata or inside a case.
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { ...globals.node } },
    // CommonJS scripts: require() is how they import, and `const crypto = require('node:crypto')` is not a redeclaration.
    rules: { '@typescript-eslint/no-require-imports': 'off', 'no-redeclare': ['error', { builtinGlobals: false }] },
  },
  {
    files: ['web/**/*.ts', 'web/**/*.tsx'],
    languageOptions: { globals: { ...globals.browser } },
  },
  prettier,
);
