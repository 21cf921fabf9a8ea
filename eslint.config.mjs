// Lint: typescript-eslint's type-aware rules plus DESIGN.md's import rules.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** One rule per directory: who may not be imported from there (DESIGN.md "Who may import whom"). */
const forbid = (files, dirs) => ({
  files,
  rules: {
    'no-restricted-imports': [
      'error',
      { patterns: dirs.map((d) => ({ group: [`**/${d}`, `**/${d}/*`], message: `DESIGN.md: this layer must not import ${d}/` })) },
    ],
  },
});

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'eslint.config.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-expressions': 'off', // chai's expect(x).to.be.true
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  forbid(['src/errors.ts'], ['store', 'ring', 'config', 'cluster', 'server', 'client', 'observability', 'cli']),
  forbid(['src/store/**/*.ts', 'src/ring/**/*.ts', 'src/config/**/*.ts'], ['cluster', 'server', 'client', 'cli']),
  forbid(['src/cluster/**/*.ts'], ['server', 'client', 'cli']),
  forbid(['src/client/**/*.ts', 'src/index.ts'], ['server', 'cluster', 'cli', 'store', 'config']),
);
