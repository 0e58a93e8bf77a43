/**
 * The alarm storm of bench:alerts made by real device actors (actors/device with the default alert
 * rules of config/default.yaml): `devices` actors warm up on ordinary readings, then every one sees
 * a spike at the same instant and ordinary readings after it. What they write (alert transitions)
 * and whom they call (the model gateway's Explain, once per anomaly) is collected; the Explain
 * requests then go through a real model gateway over an OpenAI-compatible test double
 * (test/harness/fake-openai.ts: the LLM cannot run here) to count the LLM calls the storm costs.
 */
import { createDeviceActor } from "../../actors/device/index.js";
import type { DeviceMsg } from "../../actors/device/device.messages.js";
import type { ActorContext } from "../../src/ports/actor.js";
import type { ExplainRequest } from "../../src/ports/gateway.js";
import type { Row } from "../../src/ports/row-sink.js";
import { ALERT_TRANSITIONS_TABLE } from "../../src/domain/tables.js";
import { alertsSchema } from "../../src/config/schema-alerts.js";
import { startFakeOpenAI } from "../harness/fake-openai.js";
import { llmConfig, llmGateway, metricValue } from "../integration/gateway-support.js";

/** What the actors did in the storm. */
export interface ActorStorm {
  readonly transitions: Row[];
  readonly explainCalls: ExplainRequest[];
  readonly anomalies: number;
}

/** `devices` device actors, 60 ordinary readings a minute apart, a spike on all at once, 5 ordinary readings after it. */
export function actorStorm(devices: number): ActorStorm {
  const logic = createDeviceActor({ alertRules: alertsSchema.parse({}).rules });
  const transitions: Row[] = [];
  const explainCalls: ExplainRequest[] = [];
  let anomalies = 0;
  const t0 = Date.now() - 3_600_000;
  for (let d = 0; d < devices; d++) {
    const id = `dev-${String(d).padStart(6, "0")}`;
    const ctx: ActorContext<DeviceMsg> = {
      self: { type: "device", id },
      now: () => Date.now(),
      send: () => {},
      emit: (subject) => void (subject.startsWith("shoal.analysis.") && anomalies++),
      write: (table, row) => void (table === ALERT_TRANSITIONS_TABLE && transitions.push(row)),
      call: (service, method, req) => void (service === "gateway" && method === "explain" && explainCalls.push(req as ExplainRequest)),
      setTimer: () => {},
      cancelTimer: () => {},
    };
    let s = logic.initial(id);
    const base = 20 + (d % 7);
    const value = (k: number) => base + Math.sin(k / 3 + d) * 0.5 + ((k * 7919 + d * 104729) % 13) / 50;
    for (let k = 1; k <= 66; k++) {
      const spike = k === 61;
      const msg: DeviceMsg = { type: "reading", streamSeq: k, reading: { deviceId: id, seq: k, tsMs: t0 + k * 60_000, metrics: { temp: spike ? base + 40 : value(k) } } };
      s = logic.receive(s, msg, ctx);
    }
    logic.dispose?.(s);
  }
  return { transitions, explainCalls, anomalies };
}

/** The storm's Explain requests through a real gateway (pattern cache + coalescing) over the LLM double: how many reach the LLM. */
export async function stormLlmCalls(reqs: readonly ExplainRequest[]): Promise<{ llmCalls: number; cached: number; coalesced: number; costUsd: number; ms: number }> {
  const fake = await startFakeOpenAI();
  try {
    const { gw, registry } = llmGateway(fake, llmConfig(fake, { provider: { rateLimit: { requestsPerSec: 200, burst: 200 }, maxConcurrency: 16, timeout: "10s" } }));
    const t0 = performance.now();
    const results = [];
    // Anomalies arrive at the gateway as the actors raise them: in waves of 500.
    for (let i = 0; i < reqs.length; i += 500) results.push(...(await Promise.all(reqs.slice(i, i + 500).map((r) => gw.explain(r)))));
    const ms = performance.now() - t0;
    const out = { llmCalls: fake.counts().chat, cached: results.filter((r) => r.model.cached).length, coalesced: await metricValue(registry, "shoal_gateway_coalesced_total"), costUsd: results.reduce((a, r) => a + r.model.costUsd, 0), ms };
    await gw.close();
    return out;
  } finally {
    await fake.close();
  }
}
