import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/keyv/*.vitest.ts'],
    testTimeout: 20_000,
    fileParallelism: false,
  },
});
