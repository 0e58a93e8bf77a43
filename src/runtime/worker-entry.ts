import { parentPort, workerData } from "node:worker_threads";
import type { AnyLogic } from "./actor-cell.js";
import { systemClock } from "../base/clock.js";
import { RuntimeOptionsError, toWireError } from "./errors.js";
import type { JournalDecoder } from "./journal-batch.js";
import { partitionFor, workerFor } from "./partition.js";
import { createShardServer } from "./shard-server.js";
import type { FromWorker, ToWorker, WorkerInit } from "./worker-protocol.js";

// Shard worker: loads the actor logics and the journal decoder by module, then serves the host's
// commands with a shard server (shard-server.ts). Protocol: see worker-protocol.ts.

const port = parentPort!;
const init = workerData as WorkerInit;
const post = (m: FromWorker): void => port.postMessage(m);

async function main(): Promise<void> {
  const logics: AnyLogic[] = [];
  for (const spec of init.logics) {
    const mod = (await import(spec.module)) as Record<string, unknown>;
    const exported = mod[spec.export ?? "default"];
    const logic = (spec.args !== undefined && typeof exported === "function" ? (exported as (...a: unknown[]) => unknown)(...spec.args) : exported) as AnyLogic | undefined;
    if (logic === undefined || logic === null || typeof logic.receive !== "function") {
      throw new RuntimeOptionsError(`actor logic module ${spec.module} has no ActorLogic export "${spec.export ?? "default"}"`);
    }
    logics.push(logic);
  }
  let decode: JournalDecoder | undefined;
  if (init.decoder !== undefined) {
    const mod = (await import(init.decoder.module)) as Record<string, unknown>;
    const fn = mod[init.decoder.export];
    if (typeof fn !== "function") throw new RuntimeOptionsError(`journal decoder module ${init.decoder.module} has no function export "${init.decoder.export}"`);
    decode = fn as JournalDecoder;
  }
  const partitionOf = partitionFor(init.options.partitions);
  const server = createShardServer(
    {
      index: init.index,
      workers: init.workers,
      options: init.options,
      logics,
      ...(decode ? { decode } : {}),
      configs: init.configs,
      clock: systemClock,
      defer: (fn) => setImmediate(fn),
      partitionOf,
      isLocal: (type, id) => workerFor(partitionOf(type, id), init.workers) === init.index,
      // Rows of tables with a schema leave this thread as RowBinary (made on this worker's core).
      encodeRows: true,
    },
    post,
  );
  port.on("message", (m: ToWorker) => server.handle(m));
  post({ t: "ready" });
}

main().catch((err: unknown) => {
  post({ t: "fatal", error: toWireError(err) });
  process.exit(1);
});
