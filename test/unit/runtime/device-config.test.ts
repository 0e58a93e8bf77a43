/**
 * Live configuration of the device actor reaches every worker thread through the logic's
 * `configure()`, not only the actors active at that moment: a worker without any active device
 * actor, and a worker started later to replace a crashed one, apply the new settings too.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { JournalBytes, JournalEffects, OutEvent } from "../../../src/ports/actor-host.js";
import { encodeReading } from "../../../src/domain/reading-codec.js";
import { partitionOf } from "../../../src/domain/partition.js";
import { workerFor } from "../../../src/runtime/partition.js";
import { MemorySnapshotStore } from "../../../src/runtime/testing/memory-snapshot-store.js";
import { WorkerPoolHost } from "../../../src/runtime/worker-pool-host.js";
import { createDeviceActor } from "../../../actors/device/index.js";

const P = 8;
const WORKERS = 2;
const hosts: WorkerPoolHost[] = [];
let streamSeq = 0;

afterEach(async () => {
  for (const h of hosts.splice(0)) await h.close();
});

async function start(): Promise<WorkerPoolHost> {
  const host = await WorkerPoolHost.create({
    logics: [{ module: new URL("../../../actors/device/index.ts", import.meta.url).href, export: "createDeviceActor", args: [{ explainAnomalies: false }] }],
    decoder: { module: new URL("../../../src/domain/journal-envelopes.ts", import.meta.url).href, export: "journalEnvelope" },
    snapshots: new MemorySnapshotStore(),
    workers: WORKERS,
    partitions: P,
  });
  hosts.push(host);
  return host;
}

/** A device id whose partition lives on `worker`, distinct per `n`. */
function deviceOn(worker: number, n: number): string {
  for (let i = 0; ; i++) {
    const id = `cfg-${worker}-${n}-${i}`;
    if (workerFor(partitionOf(id, P), WORKERS) === worker) return id;
  }
}

/** One ordinary reading of `id` (a value the detector does not find unusual). */
function deliverReading(host: WorkerPoolHost, id: string): Promise<JournalEffects> {
  const msg: JournalBytes = { data: encodeReading({ deviceId: id, seq: 1, tsMs: 1_764_000_000_000, metrics: { t: 21 } }), streamSeq: ++streamSeq };
  return host.deliverJournal(partitionOf(id, P), [msg]);
}

const anomaliesOf = (events: readonly OutEvent[]) => events.filter((e) => (e.data as { kind?: string }).kind === "anomaly");

describe("device actor configuration on every worker", () => {
  it("reaches a worker with no active device actor", async () => {
    const host = await start();
    // Only worker 0 has device actors; worker 1 is idle when the change arrives.
    expect(anomaliesOf((await deliverReading(host, deviceOn(0, 1))).events)).toHaveLength(0);
    const before = await host.introspect();
    expect(before.workers[1]!.activeByType["device"] ?? 0).toBe(0);
    // Threshold 0: every reading scores at or above it and is reported.
    await host.configure("device", { threshold: 0 }, "v2");
    const fx = await deliverReading(host, deviceOn(1, 1));
    expect(anomaliesOf(fx.events)).toHaveLength(1);
    expect(anomaliesOf((await deliverReading(host, deviceOn(0, 2))).events)).toHaveLength(1);
  });

  it("reaches a worker started to replace a crashed one", async () => {
    const host = await start();
    await host.configure("device", { threshold: 0 }, "v2");
    await host.killWorker(1);
    const fx = await deliverReading(host, deviceOn(1, 2));
    expect((await host.introspect()).workerRestarts).toBe(1);
    expect(anomaliesOf(fx.events)).toHaveLength(1);
  });

  it("rejects an invalid change on every worker, keeping the previous settings", async () => {
    const host = await start();
    await expect(host.configure("device", { threshold: 2 }, "bad")).rejects.toThrow(/device settings: threshold must be between 0 and 1, got 2/);
    expect(anomaliesOf((await deliverReading(host, deviceOn(1, 3))).events)).toHaveLength(0);
    expect(() => createDeviceActor({ heartbeatTimeoutMs: 0 })).toThrow(/heartbeatTimeoutMs must be an integer >= 1, got 0/);
  });
});
