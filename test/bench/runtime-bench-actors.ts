import type { ActorLogic } from "../../src/ports/actor.js";

/** Trivial-ish device actor: seq dedup + running sum + one row per reading. */
interface TinyState {
  hwm: number;
  sum: number;
}
type ReadingMsg = { type: "reading"; reading: { deviceId: string; seq: number; tsMs: number; metrics: Record<string, number> }; streamSeq: number };
export const tinyActor: ActorLogic<TinyState, ReadingMsg> = {
  type: "device",
  initial: () => ({ hwm: 0, sum: 0 }),
  receive(s, m, ctx) {
    const r = m.reading;
    if (r.seq <= s.hwm) return s;
    s.hwm = r.seq;
    s.sum += r.metrics.temp!;
    ctx.write("readings", { device_id: r.deviceId, seq: r.seq, v: r.metrics.temp! });
    return s;
  },
  snapshot: (s) => new Uint8Array(new Float64Array([s.hwm, s.sum]).buffer),
  restore: (b) => {
    const f = new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + 16));
    return { hwm: f[0]!, sum: f[1]! };
  },
  lastSeq: (s) => s.hwm,
};

