import type { Log } from "../../ports/log.js";
import type { VectorStore } from "../../ports/vector-store.js";
import { WeaviateVectorStore } from "../weaviate/weaviate-store.js";
import { VectorStoreError } from "./errors.js";
import { EmbeddedVectorStore } from "./lance-store.js";

/** The `vectors` section of the configuration (src/config/schema.ts), as far as the stores need it. */
export interface VectorsConfig {
  readonly store: "embedded" | "weaviate";
  readonly embedded: { readonly dir: string };
  readonly weaviate: { readonly url: string; readonly apiKey?: string | undefined; readonly batchSize: number };
}

/**
 * The configured vector store, opened: the embedded store's directory is created, locked and
 * connected; a Weaviate server must answer ready (else a retryable `unavailable` error).
 */
export async function createVectorStore(cfg: VectorsConfig, deps: { readonly log?: Log } = {}): Promise<VectorStore> {
  if (cfg.store === "weaviate") {
    const w = cfg.weaviate;
    const store = new WeaviateVectorStore({ url: w.url, batchSize: w.batchSize, ...(w.apiKey ? { apiKey: w.apiKey } : {}) });
    if (!(await store.ready())) throw new VectorStoreError(`weaviate at ${new URL(w.url).host} is not ready`, { reason: "unavailable" });
    return store;
  }
  const store = new EmbeddedVectorStore({ dir: cfg.embedded.dir, ...(deps.log ? { log: deps.log } : {}) });
  await store.open();
  return store;
}
