import { defineConfig } from "vitest/config";

/**
 * Two projects:
 * - unit: logic only, in-memory fakes allowed, next to the code.
 * - integration: real services started by test/harness (NATS, Mosquitto, ClickHouse, Consul, Redis).
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["src/**/*.test.ts", "actors/**/*.test.ts", "test/unit/**/*.test.ts"],
          environment: "node",
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts", "test/e2e/**/*.test.ts", "test/chaos/**/*.test.ts"],
          environment: "node",
          testTimeout: 180_000,
          hookTimeout: 120_000,
          // Real servers per file; two cores: run files one at a time to keep timings honest.
          fileParallelism: false,
          pool: "forks",
        },
      },
    ],
  },
});
