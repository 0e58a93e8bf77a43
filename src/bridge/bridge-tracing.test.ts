import { describe, expect, it } from "vitest";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace";
import { createBridgeCore } from "./bridge.js";
import { decodeJournalReadings, decodeReadings, defaultReadingLimits } from "../domain/reading-codec.js";
import { systemClock } from "../base/clock.js";
import { parseTraceparent } from "../base/trace-context.js";
import { createTracing } from "../observability/tracing.js";
import { encodeReadingWire } from "../domain/reading-wire-write.js";

const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
const reading = (id: string, seq: number) => enc({ deviceId: id, seq, tsMs: Date.now(), metrics: { t: seq } });
const turn = () => new Promise((r) => setImmediate(r));
const SAMPLED = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const UNSAMPLED = "00-1af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";

function setup(sampleRatio: number) {
  const exporter = new InMemorySpanExporter();
  const tracing = createTracing({ endpoint: "", sampleRatio, anomalies: true, maxQueue: 100 }, "shoal-bridge", exporter);
  const pubs: { data: Uint8Array; traceparent: string | undefined; resolve: () => void }[] = [];
  const core = createBridgeCore(
    { partitions: 1, limits: defaultReadingLimits, msgIdPrefix: "n", clock: systemClock, tracing },
    (_s, data, _id, traceparent) => new Promise((resolve) => pubs.push({ data, traceparent, resolve: () => resolve({ seq: 1, duplicate: false }) })),
    async () => {},
  );
  return { core, pubs, exporter, tracing };
}

describe("bridge tracing (ADR 0023)", () => {
  it("continues a device's sampled trace: the readings carry the bridge span, which ends when they are durable", async () => {
    const { core, pubs, exporter, tracing } = setup(0);
    const acks: number[] = [];
    core.handle("devices/d1/readings", reading("d1", 1), { ack: () => acks.push(1) }, SAMPLED);
    core.handle("devices/d1/readings", reading("d1", 2), { ack: () => acks.push(2) }, UNSAMPLED);
    core.handle("devices/d1/readings", reading("d1", 3), { ack: () => acks.push(3) });
    await turn();
    const rs = decodeJournalReadings(pubs[0]!.data);
    expect(rs.map((r) => r.seq)).toEqual([1, 2, 3]);
    const ctx = parseTraceparent(rs[0]!.trace)!;
    expect(ctx.traceId).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(rs[1]!.trace).toBeUndefined(); // the device did not sample it
    expect(rs[2]!.trace).toBeUndefined(); // no context, ratio 0
    expect(pubs[0]!.traceparent).toBe(rs[0]!.trace); // the journal message's traceparent header
    await tracing.flush();
    expect(exporter.getFinishedSpans()).toHaveLength(0); // not durable yet
    pubs[0]!.resolve();
    await turn();
    expect(acks).toEqual([1, 2, 3]);
    await tracing.flush();
    const [span, ...rest] = exporter.getFinishedSpans();
    expect(rest).toHaveLength(0);
    expect(span!.name).toBe("shoal.bridge.accept");
    expect(span!.spanContext().spanId).toBe(ctx.spanId);
    expect(span!.parentSpanContext?.spanId).toBe("b7ad6b7169203331");
    expect(span!.attributes).toMatchObject({ "shoal.device.id": "d1", "shoal.readings": 1, "messaging.system": "mqtt" });
  });

  it("starts traces at the ratio for messages without context, and marks a rejected message's span failed", async () => {
    const { core, pubs, exporter, tracing } = setup(1);
    core.handle("devices/d2/readings", reading("d2", 1), { ack: () => {} });
    core.handle("devices/d3/readings", enc({ deviceId: "d3", seq: 1 }), { ack: () => {} });
    await turn();
    expect(parseTraceparent(decodeJournalReadings(pubs[0]!.data)[0]!.trace)).toBeDefined();
    pubs[0]!.resolve();
    await turn();
    await tracing.flush();
    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(2);
    const bad = spans.find((s) => s.attributes["shoal.dead_letter.code"] !== undefined)!;
    expect(bad.status.message).toMatch(/^invalid_field/);
    expect(core.stats.rejected).toBe(1);
  });

  it("refuses a device payload that sets the bridge's trace field itself", () => {
    const wire = encodeReadingWire({ deviceId: "d4", seq: 1, tsMs: Date.now(), metrics: { t: 1 }, trace: SAMPLED });
    const d = decodeReadings(wire, "d4", defaultReadingLimits, Date.now());
    expect(d.ok).toBe(false);
    expect(!d.ok && d.code).toBe("unknown_field");
    expect(!d.ok && d.reason).toMatch(/MQTT 5 user property traceparent/);
  });
});
