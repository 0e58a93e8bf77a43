/**
 * Child process of the embedded vector store's crash test (test/integration/vector-store-embedded.test.ts):
 * opens the store in `argv[2]`, upserts batches of 100 anomaly windows one after another and prints
 * `upserted <total>` after each upsert resolved, until the parent SIGKILLs it.
 */
import { EmbeddedVectorStore } from "../../src/adapters/vectors/index.js";
import { obj } from "./vector-store-contract.js";

const dir = process.argv[2]!;
const store = new EmbeddedVectorStore({ dir });
await store.ensureCollection({ name: "anomaly_windows", dimensions: 4 });
for (let batch = 0; batch < 1000; batch++) {
  await store.upsert(
    "anomaly_windows",
    Array.from({ length: 100 }, (_, i) => {
      const n = batch * 100 + i;
      return obj(n, [1, Math.sin(n), Math.cos(n), 0.5]);
    }),
  );
  process.stdout.write(`upserted ${(batch + 1) * 100}\n`);
}
process.stdout.write("finished\n");
await new Promise(() => {});
