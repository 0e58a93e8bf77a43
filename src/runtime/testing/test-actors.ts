import type { ActorLogic } from "../../ports/actor.js";
import type { JournalDecoder } from "../../ports/actor-host.js";

/** Messages of the counter test actor. */
export type CounterMsg =
  | { readonly type: "add"; readonly n: number; readonly seq: number }
  | { readonly type: "fail"; readonly seq: number; readonly times: number }
  | { readonly type: "arm"; readonly ms: number }
  | { readonly type: "timeout" }
  | { readonly type: "forward"; readonly to: string; readonly n: number; readonly seq: number }
  | { readonly type: "config"; readonly v?: number; readonly settings?: CounterSettings };

/** Live settings of the counter actor (see `configure`). */
export interface CounterSettings {
  /** Multiplier of every `add` (default 1). */
  step: number;
}

/** State of the counter test actor. */
export interface CounterState {
  readonly id: string;
  total: number;
  /** Device-seq high-water mark (dedup of replays). */
  hwm: number;
  /** Sequence numbers applied, in order. */
  log: number[];
  timeouts: number;
  config: number;
  /** Attempts seen per failing seq (kept across restarts to model a flaky dependency). */
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Failure counts per actor+seq live outside the state (an external flaky dependency). */
export function createCounterActor(failures = new Map<string, number>(), initial: CounterSettings = { step: 1 }): ActorLogic<CounterState, CounterMsg> {
  const settings: CounterSettings = { ...initial };
  return {
    type: "counter",
    initial: (id) => ({ id, total: 0, hwm: 0, log: [], timeouts: 0, config: 0 }),
    receive(s, m, ctx) {
      switch (m.type) {
        case "add":
          if (m.seq <= s.hwm) return s;
          s.total += m.n * settings.step;
          s.hwm = m.seq;
          s.log.push(m.seq);
          ctx.write("counts", { id: s.id, seq: m.seq, total: s.total });
          ctx.setTimer("heartbeat", 1000, { type: "timeout" });
          return s;
        case "fail": {
          if (m.seq <= s.hwm) return s;
          const k = `${s.id}:${m.seq}`;
          const seen = (failures.get(k) ?? 0) + 1;
          failures.set(k, seen);
          ctx.emit("attempt", { id: s.id, seq: m.seq });
          // Validate first, then commit: a throw leaves `s` untouched.
          if (seen <= m.times) throw new Error(`fail ${k} attempt ${seen}`);
          s.hwm = m.seq;
          s.log.push(m.seq);
          return s;
        }
        case "arm":
          ctx.setTimer("heartbeat", m.ms, { type: "timeout" });
          return s;
        case "timeout":
          s.timeouts++;
          ctx.emit(`offline.${s.id}`, { id: s.id, at: ctx.now() });
          return s;
        case "forward":
          if (m.seq <= s.hwm) return s;
          s.hwm = m.seq;
          s.log.push(m.seq);
          ctx.send({ type: "counter", id: m.to }, { type: "add", n: m.n, seq: m.seq });
          return s;
        case "config":
          s.config = m.v ?? m.settings?.step ?? s.config;
          return s;
      }
    },
    snapshot: (s) => enc.encode(JSON.stringify(s)),
    restore: (b) => JSON.parse(dec.decode(b)) as CounterState,
    lastSeq: (s) => s.hwm,
    configure(next) {
      const step = (next as Partial<CounterSettings>).step;
      if (typeof step !== "number" || !Number.isInteger(step) || step < 1) throw new RangeError(`counter step must be a positive integer, got ${String(step)}`);
      settings.step = step;
    },
  };
}

/** Factory export for worker threads: `{ export: "counterActorWith", args: [settings] }`. */
export function counterActorWith(settings: CounterSettings): ActorLogic<CounterState, CounterMsg> {
  return createCounterActor(new Map(), settings);
}

/**
 * Journal decoder of the counter actor for tests: the bytes are JSON `{ "id", "n", "seq" }`; anything
 * else throws (a corrupt message).
 */
export const counterJournalDecoder: JournalDecoder = (data, _streamSeq, _partition, start, end, emit) => {
  const v = JSON.parse(dec.decode(data.subarray(start, end))) as { id?: unknown; n?: unknown; seq?: unknown; crash?: unknown };
  // `{ id, crash: seq }`: a message that kills the worker of the "crasher" actor `id` (see crashActor).
  if (typeof v.id === "string" && typeof v.crash === "number") {
    const crash: { readonly type: "crash"; readonly seq: number } = { type: "crash", seq: v.crash };
    return emit("crasher", v.id, crash);
  }
  if (typeof v.id !== "string" || typeof v.n !== "number" || typeof v.seq !== "number") throw new TypeError("not a counter message");
  const msg: CounterMsg = { type: "add", n: v.n, seq: v.seq };
  emit("counter", v.id, msg);
};

/** A counter actor instance, loadable by module specifier in worker threads. */
export const counterActor = createCounterActor();

/** Actor that kills its worker thread on a "crash" message whose seq is above its hwm, once per id. */
export const crashActor: ActorLogic<CounterState, CounterMsg | { readonly type: "crash"; readonly seq: number }> = {
  ...(counterActor as unknown as ActorLogic<CounterState, CounterMsg | { readonly type: "crash"; readonly seq: number }>),
  type: "crasher",
  receive(s, m, ctx) {
    if (m.type === "crash") {
      if (m.seq <= s.hwm) return s;
      process.exit(3);
    }
    return (counterActor.receive as (s: CounterState, m: unknown, c: unknown) => CounterState)(s, m, ctx);
  },
};
