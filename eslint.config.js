// ESLint flat config: typescript-eslint's type-checked rules over every TypeScript file of the tree.
// `make lint` runs it with --max-warnings 0 (and `prettier --check`); `make test` runs `make lint` first.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import layers from './scripts/eslint-plugin-layers.js';

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', 'hw-fixtures/manifests/', 'hw-fixtures/updates/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // The rules this config is for: a promise nobody awaits, or a promise where a callback is expected.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // Unused names are errors; a leading underscore marks one that is unused on purpose.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      // Forwarding another promise's rejection reason (unknown) as is, is not inventing a non-Error.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      // Stylistic type-checked rules that fight the codebase, turned off on purpose:
      // - `buf[i]!` marks an index the code has checked; it is unnecessary only because
      //   noUncheckedIndexedAccess is off, and it documents intent (300+ places).
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // - `async` methods without `await` implement Promise-returning interfaces (links, handlers,
      //   fakes) and turn a throw into a rejection, which is what their callers expect.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // node:test's test()/describe() return promises the runner itself tracks.
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite', 'before', 'after'] },
          ],
        },
      ],
    },
  },
  {
    // Tests and rigs read JSON output, SDK internals and emulator state as loosely typed values.
    files: ['test/**/*.ts', 'hw-fixtures/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // The layering (scripts/eslint-plugin-layers.js): drivers <- enumerators <- src, src/model at the bottom,
    // no product code importing the rigs. The worked examples (docs/examples/<name>/drivers|enumerators|handlers)
    // are held to the layer their folder names.
    files: ['src/**/*.ts', 'drivers/**/*.ts', 'enumerators/**/*.ts', 'docs/examples/**/*.ts'],
    plugins: { layers },
    rules: { 'layers/imports': 'error' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
