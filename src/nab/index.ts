/** NAB scorer and corpus reader (public surface of src/nab). */
export * from "./sweeper.js";
export * from "./corpus.js";
export { readTar } from "./tar.js";
