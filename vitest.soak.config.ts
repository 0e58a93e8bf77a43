import { defineConfig } from "vitest/config";

/**
 * The long multi-process cluster scenario on its own (it also runs in `npm test`, as part of the
 * integration project): `npm run test:soak`.
 */
export default defineConfig({
  test: {
    include: ["test/chaos/cluster-failover.test.ts"],
    environment: "node",
    testTimeout: 600_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    pool: "forks",
  },
});
