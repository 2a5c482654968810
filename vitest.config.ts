import { defineConfig } from 'vitest/config';

// Two projects: `unit` (fast, beside the code) and `e2e` (real processes, real sockets; one file
// at a time because the files start controllers and agents on fixed loopback ports).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'packages/*/scripts/**/*.test.ts'],
          // Tests that build network namespaces run with the end-to-end suites, one file at a time.
          exclude: ['**/*.netns.test.ts', '**/node_modules/**'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/**/*.e2e.test.ts', 'packages/*/src/**/*.netns.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
