import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    environment: 'node',
    // nock patches the process-wide HTTP stack: files run in separate forks so mocks never leak.
    pool: 'forks',
    testTimeout: 20_000,
    globalSetup: ['tests/global-setup.ts'],
  },
});
