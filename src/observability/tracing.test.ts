import { describe, expect, it } from "vitest";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace";
import { SpanKind } from "@opentelemetry/api";
import { parseTraceparent } from "../base/trace-context.js";
import { noTracing } from "../ports/tracing.js";
import { createTracing, type TracingSettings } from "./tracing.js";

const SAMPLED = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const UNSAMPLED = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";
const settings = (sampleRatio: number): TracingSettings => ({ endpoint: "", sampleRatio, anomalies: true, maxQueue: 1000 });

describe("tracing on the OpenTelemetry SDK", () => {
  it("is off (noTracing) without an endpoint", () => {
    expect(createTracing(settings(1), "shoal-test")).toBe(noTracing);
    expect(noTracing.start("x")).toBeUndefined();
  });

  it("follows the parent's sampled flag, samples roots at the ratio, and keeps `always` spans", async () => {
    const exporter = new InMemorySpanExporter();
    const t = createTracing(settings(0), "shoal-test", exporter);
    const child = t.start("child", { parent: SAMPLED, kind: "consumer", attributes: { a: 1 } });
    expect(child).toBeDefined();
    expect(parseTraceparent(child!.traceparent)!.traceId).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(t.start("unsampled-child", { parent: UNSAMPLED })).toBeUndefined();
    expect(t.start("root at ratio 0")).toBeUndefined();
    const kept = t.start("anomaly", { always: true, parent: SAMPLED });
    expect(kept).toBeDefined();
    child!.end();
    kept!.fail("boom");
    kept!.end();
    kept!.end(); // a second end is ignored
    await t.flush();
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name).sort()).toEqual(["anomaly", "child"]);
    const c = spans.find((s) => s.name === "child")!;
    expect(c.parentSpanContext?.spanId).toBe("b7ad6b7169203331");
    expect(c.kind).toBe(SpanKind.CONSUMER);
    expect(c.resource.attributes["service.name"]).toBe("shoal-test");
    const a = spans.find((s) => s.name === "anomaly")!;
    expect(a.parentSpanContext).toBeUndefined(); // its own trace, linked to the reading's
    expect(a.links.map((l) => l.context.spanId)).toEqual(["b7ad6b7169203331"]);
    expect(a.status.message).toBe("boom");
  });

  it("samples every root at ratio 1", async () => {
    const exporter = new InMemorySpanExporter();
    const t = createTracing(settings(1), "shoal-test", exporter);
    for (let i = 0; i < 20; i++) t.start(`r${i}`)!.end();
    await t.flush();
    expect(exporter.getFinishedSpans()).toHaveLength(20);
  });

  it("exports spans measured elsewhere with their own ids, parent and times", async () => {
    const exporter = new InMemorySpanExporter();
    const t = createTracing(settings(0), "shoal-test", exporter);
    t.record([
      { name: "shoal.actor.turn", traceparent: "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01", parentSpanId: "b7ad6b7169203331", startMs: 1_700_000_000_000.5, endMs: 1_700_000_000_002.25, attributes: { "shoal.actor.id": "d1" } },
      { name: "bad", traceparent: "not a context", startMs: 1, endMs: 2, attributes: {} },
    ]);
    await t.flush();
    const [s, ...rest] = exporter.getFinishedSpans();
    expect(rest).toHaveLength(0);
    expect(s!.spanContext().spanId).toBe("00f067aa0ba902b7");
    expect(s!.parentSpanContext?.spanId).toBe("b7ad6b7169203331");
    expect(s!.startTime).toEqual([1_700_000_000, 500_000]);
    expect(s!.endTime).toEqual([1_700_000_000, 2_250_000]);
    expect(s!.attributes["shoal.actor.id"]).toBe("d1");
  });
});
