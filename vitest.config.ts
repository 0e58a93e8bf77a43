import { defineConfig } from "vitest/config";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Tests never read a developer's local stack (its broker accounts, the console tokens `shoal up`
 * made there): SHOAL_STACK_DIR points at a folder nothing creates. Tests that run stack.sh set their own.
 */
const env = { SHOAL_STACK_DIR: join(tmpdir(), "shoal-tests-no-local-stack") };

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
          env,
          include: ["src/**/*.test.ts", "actors/**/*.test.ts", "test/unit/**/*.test.ts"],
          environment: "node",
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: "integration",
          env,
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
