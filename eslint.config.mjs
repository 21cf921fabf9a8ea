// Lint: typescript-eslint's type-aware rules, DESIGN.md's import rules as an allow-list, and no cycles.
import js from '@eslint/js';
import boundaries from 'eslint-plugin-boundaries';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import tseslint from 'typescript-eslint';

/**
 * The layers of src/ (DESIGN.md "Who may import whom"). Every file under src/ belongs to one, so a new
 * folder is refused by default until it is named here and given what it may import.
 */
const LAYERS = [
  { type: 'errors', pattern: 'src/errors.ts', mode: 'file' },
  { type: 'index', pattern: 'src/index.ts', mode: 'file' },
  { type: 'store', pattern: 'src/store' },
  { type: 'ring', pattern: 'src/ring' },
  { type: 'config', pattern: 'src/config' },
  { type: 'observability', pattern: 'src/observability' },
  { type: 'cluster', pattern: 'src/cluster' },
  { type: 'proto', pattern: 'src/proto' },
  { type: 'transport', pattern: 'src/transport' },
  { type: 'server', pattern: 'src/server' },
  { type: 'client', pattern: 'src/client' },
  { type: 'keyv', pattern: 'src/keyv' },
  { type: 'cli', pattern: 'src/cli' },
];

/** Each layer and the layers it may import (its own files always). Anything else is an error. */
const MAY_IMPORT = {
  errors: [],
  observability: [],
  store: ['errors'],
  ring: ['errors'],
  config: ['errors'],
  // The core: no wire (proto, transport) and no edge (server, client).
  cluster: ['store', 'ring', 'config', 'errors', 'observability'],
  proto: ['errors'],
  transport: ['proto', 'errors'],
  server: ['cluster', 'proto', 'transport', 'store', 'config', 'errors', 'observability'],
  client: ['ring', 'proto', 'transport', 'errors'],
  index: ['client', 'errors'],
  // The Keyv storage adapter (ringcache/keyv): the SDK behind Keyv's interface.
  keyv: ['client', 'errors'],
  cli: [
    'server',
    'client',
    'cluster',
    'proto',
    'transport',
    'store',
    'ring',
    'config',
    'errors',
    'observability',
  ],
};

/** Wire packages the core must not see (DESIGN.md "The core and its edges"). */
const WIRE_PACKAGES = ['@grpc/*', 'msgpackr', 'protobufjs', 'grpc-health-check'];

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'eslint.config.mjs',
      'src/proto/generated/',
      'test/keyv/vitest.config.mts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-expressions': 'off', // chai's expect(x).to.be.true
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { boundaries, 'import-x': importX },
    settings: {
      'boundaries/elements': LAYERS,
      'boundaries/include': ['src/**/*.ts'],
      // 'file' mode is how v7 still classifies the two single-file layers (errors.ts, index.ts).
      'boundaries/legacy-warnings': false,
      'import/resolver': { typescript: { project: './tsconfig.json' } },
      ...importX.flatConfigs.typescript.settings,
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      'boundaries/no-unknown-files': 'error',
      'boundaries/dependencies': [
        'error',
        {
          default: 'disallow',
          message: 'DESIGN.md: {{from.type}} may not import {{to.type}}',
          policies: [
            ...Object.entries(MAY_IMPORT).map(([from, to]) => ({
              from: { element: { type: from } },
              allow: { to: { element: { types: { anyOf: [from, ...to] } } } },
            })),
            // Packages are free, except the wire's inside the core.
            { allow: { to: { module: { origin: 'external' } } } },
            { allow: { to: { module: { origin: 'core' } } } },
          ],
        },
      ],
      'import-x/no-cycle': 'error',
    },
  },
  {
    files: ['src/cluster/**/*.ts', 'src/store/**/*.ts', 'src/ring/**/*.ts', 'src/errors.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: WIRE_PACKAGES.map((p) => ({
            group: [p],
            message: 'DESIGN.md: the core knows no wire (gRPC, protobuf, msgpack); translate at the edge',
          })),
        },
      ],
    },
  },
);
