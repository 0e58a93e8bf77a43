// Public surface of the actor runtime. What is not exported here is private to src/runtime.
export { createInlineHost } from "./inline-host.js";
export type { InlineHost, InlineHostOptions } from "./inline-host.js";
export { WorkerPoolHost } from "./worker-pool-host.js";
export type { WorkerPoolHostOptions } from "./worker-pool-host.js";
export type { LogicSpec } from "./worker-protocol.js";
export { resolveRuntimeOptions } from "./options.js";
export type { RuntimeOptions, ResolvedRuntimeOptions } from "./options.js";
export { HostClosedError, RecoveryError, RuntimeError, RuntimeOptionsError, WorkerCrashedError } from "./errors.js";
export { partitionFor, workerFor } from "./partition.js";
export { DLQ_STAGE } from "./effects.js";
export { createRuntimeMetrics } from "./runtime-metrics.js";
export type { RuntimeMetrics } from "./runtime-metrics.js";
