export { createKeyvStore } from "./create-keyv-store.js";
export type { KeyvStoreOptions } from "./create-keyv-store.js";
