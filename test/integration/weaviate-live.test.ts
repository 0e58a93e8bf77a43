/**
 * The VectorStore contract against a REAL Weaviate, when one is given: WEAVIATE_URL (e.g.
 * http://127.0.0.1:8080) and, if it needs one, WEAVIATE_API_KEY. Weaviate cannot run on the project's
 * machines, so by default these tests are reported as skipped by condition, with the reason in the
 * suite's name and printed once; the same contract runs on every build against the local test double
 * (vector-store-weaviate.test.ts). Classes are created under a unique prefix and deleted afterwards.
 */
import { afterAll, describe } from "vitest";
import { WeaviateVectorStore } from "../../src/adapters/weaviate/index.js";
import { vectorStoreContract } from "../support/vector-store-contract.js";

const url = process.env.WEAVIATE_URL ?? "";
const apiKey = process.env.WEAVIATE_API_KEY;
const runId = `ShoalLive${Date.now().toString(36)}`;
let n = 0;
const prefixes: string[] = [];

if (url === "") {
  console.info("weaviate-live: WEAVIATE_URL is not set: the VectorStore contract did not run against a real Weaviate (reported as skipped). Set WEAVIATE_URL (and WEAVIATE_API_KEY) to run it.");
}

describe.runIf(url !== "")(`VectorStore contract against a real Weaviate at WEAVIATE_URL${url === "" ? " (skipped: WEAVIATE_URL is not set)" : ` (${url})`}`, () => {
  afterAll(async () => {
    const headers: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
    for (const p of prefixes) {
      for (const c of ["AnomalyWindows", "Texts"]) await fetch(`${url.replace(/\/+$/, "")}/v1/schema/${p}${c}`, { method: "DELETE", headers }).catch(() => undefined);
    }
  });

  vectorStoreContract("weaviate adapter, live server", {
    async fresh() {
      const classPrefix = `${runId}N${++n}`;
      prefixes.push(classPrefix);
      const open = async () => new WeaviateVectorStore({ url, classPrefix, batchSize: 100, ...(apiKey ? { apiKey } : {}) });
      return { store: await open(), reopen: open };
    },
  });
});
