import { describe, expect, it } from "vitest";
import type { VectorCollection, VectorCollectionSpec, VectorHit, VectorObject, VectorStore } from "../ports/vector-store.js";
import { anomalyWindowId, textVectorId } from "../domain/anomaly-window.js";
import { VectorIndexer } from "./indexer.js";

/** An in-memory store recording what the indexer writes (the adapters have their own contract tests). */
function memoryStore(): VectorStore & { objects: Map<string, VectorObject & { collection: string }>; specs: VectorCollectionSpec[]; fail: boolean } {
  const objects = new Map<string, VectorObject & { collection: string }>();
  const specs: VectorCollectionSpec[] = [];
  return {
    kind: "memory",
    objects,
    specs,
    fail: false,
    async ensureCollection(spec) {
      specs.push(spec);
    },
    async upsert(collection: VectorCollection, objs) {
      if (this.fail) throw Object.assign(new Error("store down"), { retryable: true });
      for (const o of objs) objects.set(o.id, { ...o, collection });
    },
    search: async () => [] as VectorHit[],
    get: async () => [],
    deleteOlderThan: async () => 0,
    count: async (c) => [...objects.values()].filter((o) => o.collection === c).length,
    close: async () => {},
  };
}

const unit = (k: number) => Array.from({ length: 32 }, (_, i) => (i === k ? 1 : 0));
const windowRow = (seq: number) => ({ device_id: "d1", epoch: 2, seq, ts_ms: 1000 * seq, metric: "temp", score: 0.97, vector: unit(seq % 32) });
const analysisRow = (seq: number) => ({ device_id: "d1", epoch: 2, seq, ts_ms: 1000 * seq, metric: "temp", score: 0.97, summary: `temp rose ${seq}`, likely_cause: "a burst", suggested_action: "check" });

describe("VectorIndexer", () => {
  const embed = async (texts: readonly string[]) => texts.map((t) => [t.length, 1, 0]);

  it("writes anomaly windows and embedded explanations under deterministic ids: handling an entry twice stores it once", async () => {
    const store = memoryStore();
    const ix = new VectorIndexer({ store, embed, indexLogs: false });
    for (let round = 0; round < 2; round++) {
      await ix.handle({ table: "anomaly_windows", rows: [windowRow(5), windowRow(6)], atMs: 0 });
      await ix.handle({ table: "analyses", rows: [analysisRow(5)], atMs: 0 });
    }
    expect(store.objects.size).toBe(3);
    expect(store.objects.get(anomalyWindowId({ deviceId: "d1", epoch: 2, seq: 5, tsMs: 0, metric: "temp" }))).toMatchObject({ collection: "anomaly_windows", kind: "anomaly_window", seq: 5, epoch: 2, metric: "temp" });
    expect(store.objects.get(textVectorId("explanation", "d1", 2, 5, "temp"))).toMatchObject({ collection: "texts", kind: "explanation", text: "temp rose 5 a burst check", vector: [25, 1, 0] });
    expect(store.specs).toEqual([
      { name: "anomaly_windows", dimensions: 32 },
      { name: "texts", dimensions: 3 },
    ]);
  });

  it("indexes each distinct device log line once, when asked to", async () => {
    const store = memoryStore();
    const ix = new VectorIndexer({ store, embed, indexLogs: true });
    const r = (seq: number, log: string) => ({ device_id: "d1", epoch: 0, seq, ts_ms: seq, log, score: 0 });
    await ix.handle({ table: "readings", rows: [r(1, "fan fault"), r(2, ""), r(3, "fan fault"), r(4, "door open")], atMs: 0 });
    expect([...store.objects.values()].map((o) => o.text).sort()).toEqual(["door open", "fan fault"]);
    expect(ix.stats.logRepeatsSkipped).toBe(1);
    await new VectorIndexer({ store, embed, indexLogs: false }).handle({ table: "readings", rows: [r(9, "new line")], atMs: 0 });
    expect(store.objects.size).toBe(2);
  });

  it("lets a store failure through (the entry is redelivered) and refuses a window of the wrong length for good", async () => {
    const store = memoryStore();
    const ix = new VectorIndexer({ store, embed, indexLogs: false });
    store.fail = true;
    await expect(ix.handle({ table: "anomaly_windows", rows: [windowRow(1)], atMs: 0 })).rejects.toMatchObject({ retryable: true });
    store.fail = false;
    await expect(ix.handle({ table: "anomaly_windows", rows: [{ ...windowRow(1), vector: [1, 2] }], atMs: 0 })).rejects.toMatchObject({ retryable: false });
    await ix.handle({ table: "anomaly_windows", rows: [windowRow(1)], atMs: 0 });
    expect(store.objects.size).toBe(1);
  });
});
