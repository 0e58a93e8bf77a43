export { createVectorStore, type VectorsConfig } from "./factory.js";
export { EmbeddedVectorStore, type EmbeddedVectorStoreOptions } from "./lance-store.js";
export { DEFAULT_TUNING, type LanceTuning, type MaintenanceReport } from "./lance-collection.js";
export { VectorStoreError, type VectorFailure } from "./errors.js";
