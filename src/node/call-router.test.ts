import { describe, expect, it } from "vitest";
import type { ActorCacheCalls, ActorCallService } from "../ports/actor-services.js";
import type { DeadLetterInput } from "../domain/dead-letter.js";
import { partitionOf } from "../domain/partition.js";
import { createLogger } from "../observability/logger.js";
import type { BatchEffects, CallResult, OutCall, RuntimeHost } from "../ports/actor-host.js";
import { type RowBatch, type RowsByTable } from "../ports/row-sink.js";
import { rowBatchOf } from "../domain/row-batch.js";
import { CallRouter } from "./call-router.js";

const P = 8;
const none = (): BatchEffects => ({ rows: new Map(), events: [], calls: [], deadLetters: [] });

function setup(opts: { sinkError?: Error } = {}) {
  const dead: DeadLetterInput[] = [];
  const resolved: [number, CallResult][] = [];
  const held = new Map<number, (callId: number, r: CallResult) => void>();
  const host = { resolveCall: async (id: number, r: CallResult) => (resolved.push([id, r]), none()) } as unknown as RuntimeHost;
  const caller = {
    submitOutCall: (c: OutCall, done: (callId: number, r: CallResult) => void) => {
      if (c.service !== "gateway") return false;
      held.set(c.callId, done);
      return true;
    },
  } as unknown as ActorCallService;
  const actorCache = { handle: async () => ({ value: null }), close: async () => {} } as ActorCacheCalls;
  const events = { event() {}, deadLetter: async (dl: DeadLetterInput) => void dead.push(dl) };
  const sink = {
    write: async (_rows: RowsByTable) => {
      if (opts.sinkError) throw opts.sinkError;
    },
    close: async () => {},
  };
  const router = new CallRouter({ host, caller, actorCache, events, sink, partitions: P, log: createLogger({ level: "silent", name: "t" }) });
  return { router, dead, resolved, held };
}

const call = (id: string, callId: number, service = "gateway"): OutCall => ({ from: { type: "device", id }, service, method: "explain", req: {}, callId });
const tick = () => new Promise((r) => setTimeout(r, 10));

describe("call router", () => {
  it("dead-letters (and counts) the dead letters of background turns instead of dropping them", async () => {
    const { router, dead } = setup();
    router.commit({ ...none(), deadLetters: [{ envelope: { actorType: "device", actorId: "d1", partition: 0, streamSeq: 0, msg: { type: "explanation" } }, stage: "runtime", code: "handler_failed", reason: "boom" }] });
    await tick();
    expect(dead).toEqual([expect.objectContaining({ stage: "runtime", code: "handler_failed", reason: "boom", source: "actor device/d1" })]);
    expect(router.stats.deadLettered).toBe(1);
  });

  it("dead-letters each row of a background turn the sink refuses, with the sink's reason", async () => {
    const err = Object.assign(new Error("Cannot parse input"), { code: "invalid_row" });
    const { router, dead } = setup({ sinkError: err });
    const rows = new Map<string, RowBatch>([["analyses", rowBatchOf([{ device_id: "d1", seq: 1 }, { device_id: "d2", seq: 4 }])]]);
    router.commit({ ...none(), rows });
    await tick();
    expect(dead.map((d) => [d.code, d.reason, d.source])).toEqual([
      ["invalid_row", "Cannot parse input", "table analyses"],
      ["invalid_row", "Cannot parse input", "table analyses"],
    ]);
    expect(JSON.parse(new TextDecoder().decode(dead[1]!.payload))).toEqual({ table: "analyses", row: { device_id: "d2", seq: 4 } });
    expect(router.stats.rowsDeadLettered).toBe(2);
  });

  it("answers unknown services with an error and counts calls in flight per partition until answered", async () => {
    const { router, resolved, held } = setup();
    const a = "dev-a";
    const p = partitionOf(a, P);
    router.dispatch([call(a, 1), call(a, 2, "nope")]);
    await tick();
    expect(resolved.map(([id, r]) => [id, r.ok])).toEqual([[2, false]]);
    expect(await router.drained(p, 20)).toBe(1); // the gateway call is still held
    const drained = router.drained(p, 5_000);
    held.get(1)!(1, { ok: true, value: { summary: "x" } });
    expect(await drained).toBe(0);
    expect(router.pending()).toBe(0);
    expect(await router.drained((p + 1) % P, 5_000)).toBe(0); // a partition without calls: at once
  });
});
