import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace";
import { createGateway, createGatewayMetrics, createGatewayClient, startGatewayServer, type GatewayServer } from "../../src/gateway/index.js";
import { createOpenAIProvider } from "../../src/adapters/openai/index.js";
import { createTracing } from "../../src/observability/tracing.js";
import { parseTraceparent } from "../../src/base/trace-context.js";
import { startFakeOpenAI, type FakeOpenAI } from "../harness/fake-openai.js";
import { llmConfig, spikeWindow, uniqueWord } from "./gateway-support.js";
import { Registry } from "prom-client";

/**
 * A traced call through the model gateway (ADR 0023): the caller's `traceparent` in gRPC metadata
 * → the server span → the operation span → one upstream span per provider attempt, whose context
 * reaches the provider as an HTTP `traceparent` header (the OpenAI-compatible TEST DOUBLE records it).
 * An untraced call records nothing and sends no header.
 */
const CALLER = "00-5bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-01";

describe("model gateway tracing", () => {
  let fake: FakeOpenAI;
  let server: GatewayServer;
  const exporter = new InMemorySpanExporter();
  const tracing = createTracing({ endpoint: "", sampleRatio: 0, anomalies: true, maxQueue: 1000 }, "shoal-gateway", exporter);
  beforeAll(async () => {
    fake = await startFakeOpenAI();
    const cfg = llmConfig(fake, { extra: { gate: { explainMinScore: 0 } } });
    const provider = createOpenAIProvider({ id: "llm", baseUrl: fake.baseUrl, apiKey: "sk-test-secret", structuredOutput: cfg.providers.llm!.structuredOutput });
    const gw = createGateway({ config: cfg, providers: new Map([["llm", provider]]), metrics: createGatewayMetrics(new Registry()), tracing });
    server = await startGatewayServer(gw, { port: 0, tracing });
  });
  afterAll(async () => {
    await server?.close();
    await tracing.close();
    await fake?.close();
  });

  it("continues the caller's trace down to the provider's HTTP request", async () => {
    const client = createGatewayClient({ address: server.address });
    const res = await client.explain({ window: spikeWindow(), score: 0.99, context: { word: uniqueWord() } }, { traceparent: CALLER });
    expect(res.model.provider).toBe("llm");
    await tracing.flush();
    const spans = exporter.getFinishedSpans();
    const byName = (n: string) => spans.filter((s) => s.name === n);
    const [srv] = byName("shoal.v1.ModelGatewayService/Explain");
    const [op] = byName("shoal.gateway.explain");
    const [up] = byName("shoal.gateway.upstream");
    expect(srv?.parentSpanContext?.spanId).toBe("1111111111111111");
    expect(op?.parentSpanContext?.spanId).toBe(srv!.spanContext().spanId);
    expect(op?.attributes["shoal.gateway.provider"]).toBe("llm");
    expect(up?.parentSpanContext?.spanId).toBe(op!.spanContext().spanId);
    expect(up?.attributes["shoal.gateway.model"]).toBe("gpt");
    expect(Number(up?.attributes["shoal.gateway.input_tokens"])).toBeGreaterThan(0);
    const seen = fake.requests.filter((r) => r.path.endsWith("/chat/completions"));
    expect(seen).toHaveLength(1);
    const sent = parseTraceparent(seen[0]!.traceparent);
    expect(sent).toEqual({ traceId: "5bf92f3577b34da6a3ce929d0e0e4736", spanId: up!.spanContext().spanId, sampled: true });

    exporter.reset();
    await client.explain({ window: spikeWindow("dev-2"), score: 0.99, context: { word: uniqueWord() } });
    await tracing.flush();
    expect(exporter.getFinishedSpans()).toHaveLength(0);
    expect(fake.requests.at(-1)!.traceparent).toBeUndefined();
    client.close();
  });
});
