import { defineConfig } from "vitest/config";

/**
 * Long multi-process scenarios kept out of `npm test` until they are reliable on a loaded 2-core
 * machine (see the closing notes of the cluster issue): `npm run test:soak`.
 */
export default defineConfig({
  test: {
    include: ["test/soak/**/*.test.ts"],
    environment: "node",
    testTimeout: 600_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    pool: "forks",
  },
});
