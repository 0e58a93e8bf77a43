export { WeaviateVectorStore, type WeaviateVectorStoreOptions } from "./weaviate-store.js";
export { classDefinition, className } from "./class-spec.js";
export { toWeaviateError } from "./errors.js";
