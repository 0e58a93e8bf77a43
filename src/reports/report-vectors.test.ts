import { describe, expect, it } from "vitest";
import type { VectorCollection, VectorObject, VectorStore } from "../ports/vector-store.js";
import { textVectorId } from "../domain/anomaly-window.js";
import { VectorIndexer } from "../vectors/indexer.js";

/** The vector indexer's side of reports: rows of `reports` from the row log become texts of kind "report". */
describe("reports in the vector indexer", () => {
  const objects = new Map<string, VectorObject & { collection: VectorCollection }>();
  const store: VectorStore = {
    kind: "memory",
    ensureCollection: async () => {},
    upsert: async (collection, objs) => void objs.forEach((o) => objects.set(o.id, { ...o, collection })),
    search: async () => [],
    get: async () => [],
    deleteOlderThan: async () => 0,
    count: async () => objects.size,
    close: async () => {},
  };
  const report = (id: string, body: string) => ({ report_id: id, kind: "fleet-hourly", scope: "fleet", period_from_ms: 1000, period_to_ms: 3_601_000, created_at_ms: 5, title: `T ${id}`, body, provider: "local", model: "m", cost_usd: 0 });

  it("embeds title and body under an id derived from the report id, so a report written twice is one vector", async () => {
    const embedded: string[] = [];
    const ix = new VectorIndexer({ store, embed: async (texts) => texts.map((t) => (embedded.push(t), [t.length, 1])), indexLogs: false });
    expect(ix.tables.has("reports")).toBe(true);
    await ix.handle({ table: "reports", rows: [report("fleet-hourly/a", "all quiet"), report("fleet-hourly/a", "all quiet")], atMs: 0 });
    await ix.handle({ table: "reports", rows: [report("fleet-hourly/b", "x".repeat(40_000))], atMs: 0 });
    expect(objects.size).toBe(2);
    expect(objects.get(textVectorId("report", "fleet-hourly/a"))).toMatchObject({ collection: "texts", kind: "report", deviceId: "", tsMs: 3_601_000, metric: "", epoch: 0, seq: 0, score: 0, text: "T fleet-hourly/a\nall quiet" });
    // Bounded under the gateway's 32,000-character limit.
    expect(objects.get(textVectorId("report", "fleet-hourly/b"))!.text).toHaveLength(16_000);
    expect(ix.stats.reports).toBe(3);
    expect(embedded).toHaveLength(3);
  });
});
