// In-memory fakes of the runtime's ports, for unit tests and in-memory benchmarks only.
export { MemorySnapshotStore } from "./memory-snapshot-store.js";
export { MemoryJournal } from "./memory-journal.js";
export { RecordingMetrics } from "./recording-metrics.js";
export { counterActor, createCounterActor, crashActor } from "./test-actors.js";
export type { CounterMsg, CounterState } from "./test-actors.js";
