import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // onnxruntime and ffmpeg use the cores; one test file at a time keeps timings honest on 2 cores
    fileParallelism: false,
    // the functions' INFO logs are for operators; tests that read them turn them back on
    env: { POWERTOOLS_LOG_LEVEL: 'WARN' },
  },
});
