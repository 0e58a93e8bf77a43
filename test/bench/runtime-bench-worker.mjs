// Plain worker_threads side of the transport benchmark: requestId protocol, one reply per batch.
import { parentPort } from "node:worker_threads";
import run from "./runtime-bench-task.mjs";

parentPort.on("message", (m) => parentPort.postMessage({ requestId: m.requestId, rows: run(m.batch) }));
