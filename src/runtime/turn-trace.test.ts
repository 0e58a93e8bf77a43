import { describe, expect, it } from "vitest";
import type { ActorLogic } from "../ports/actor.js";
import type { Envelope } from "../ports/actor-host.js";
import { SimClock } from "../base/testing/sim-clock.js";
import { parseTraceparent } from "../base/trace-context.js";
import { createInlineHost } from "./inline-host.js";
import { MemorySnapshotStore } from "./testing/memory-snapshot-store.js";
import { TURN_SPAN } from "./turn-trace.js";

type Msg = { readonly type: "ask"; readonly keep?: boolean; readonly trace?: string } | { readonly type: "answer"; readonly trace?: string };

/** Writes a row and calls a service on "ask" (keeping the trace when told to); writes a row on the answer. */
const caller: ActorLogic<{ n: number }, Msg> = {
  type: "caller",
  initial: () => ({ n: 0 }),
  receive(s, m, ctx) {
    s.n++;
    ctx.write("t", { id: ctx.self.id, n: s.n });
    if (m.type === "ask") {
      if (m.keep === true) ctx.keepTrace?.();
      ctx.call("svc", "m", {}, () => ({ type: "answer" }), () => ({ type: "answer" }));
    }
    return s;
  },
  snapshot: (s) => new TextEncoder().encode(JSON.stringify(s)),
  restore: (b) => JSON.parse(new TextDecoder().decode(b)) as { n: number },
};

const PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
let seq = 0;
const env = (id: string, msg: Msg): Envelope => ({ actorType: "caller", actorId: id, partition: 0, streamSeq: ++seq, msg });

function host(traceTurns: boolean, traceKeptTurns = false) {
  return createInlineHost({ logics: [caller as never], snapshots: new MemorySnapshotStore(), clock: new SimClock(), partitions: 1, traceTurns, traceKeptTurns, defer: (fn) => setImmediate(fn) });
}

describe("traced turns (ADR 0023)", () => {
  it("records the turn of a message carrying trace as a child span, and its call continues it", async () => {
    const h = host(true);
    const fx = await h.deliver([env("a", { type: "ask", trace: PARENT }), env("b", { type: "ask" })]);
    expect(fx.spans).toHaveLength(1);
    const span = fx.spans![0]!;
    const own = parseTraceparent(span.traceparent)!;
    expect(span.name).toBe(TURN_SPAN);
    expect(own.traceId).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(span.parentSpanId).toBe("b7ad6b7169203331");
    expect(own.spanId).not.toBe("b7ad6b7169203331");
    expect(span.endMs).toBeGreaterThanOrEqual(span.startMs);
    expect(span.attributes).toMatchObject({ "shoal.actor.type": "caller", "shoal.actor.id": "a", "shoal.message.type": "ask" });
    const a = fx.calls.find((c) => c.from.id === "a")!;
    const b = fx.calls.find((c) => c.from.id === "b")!;
    expect(a.trace).toBe(span.traceparent);
    expect(b.trace).toBeUndefined();

    // The reply's turn is a child of the calling turn.
    const reply = await h.resolveCall(a.callId, { ok: true, value: 1 });
    expect(reply.spans).toHaveLength(1);
    expect(reply.spans![0]!.parentSpanId).toBe(own.spanId);
    expect(reply.spans![0]!.attributes["shoal.message.type"]).toBe("answer");
    const untraced = await h.resolveCall(b.callId, { ok: true, value: 1 });
    expect(untraced.spans).toBeUndefined();
    await h.close();
  });

  it("records nothing with traceTurns off, whatever the message carries", async () => {
    const h = host(false);
    const fx = await h.deliver([env("a", { type: "ask", trace: PARENT, keep: true })]);
    expect(fx.spans).toBeUndefined();
    expect(fx.calls[0]!.trace).toBeUndefined();
    await h.close();
  });

  it("starts a trace for a kept turn without one only when kept turns are traced", async () => {
    const off = host(true, false);
    expect((await off.deliver([env("a", { type: "ask", keep: true })])).spans).toBeUndefined();
    await off.close();
    const on = host(true, true);
    const fx = await on.deliver([env("a", { type: "ask", keep: true }), env("b", { type: "ask" })]);
    expect(fx.spans).toHaveLength(1);
    const span = fx.spans![0]!;
    expect(span.parentSpanId).toBeUndefined();
    expect(span.attributes["shoal.trace.kept"]).toBe(true);
    expect(parseTraceparent(span.traceparent)?.sampled).toBe(true);
    expect(fx.calls.find((c) => c.from.id === "a")!.trace).toBe(span.traceparent);
    await on.close();
  });

  it("ignores an invalid trace context (no span, no trace on the call)", async () => {
    const h = host(true);
    const fx = await h.deliver([env("a", { type: "ask", trace: "00-zz-yy-01" })]);
    expect(fx.spans).toBeUndefined();
    expect(fx.calls[0]!.trace).toBeUndefined();
    await h.close();
  });
});
