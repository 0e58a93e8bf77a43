import type { ActorContext, ActorLogic } from "../ports/actor.js";
import type { ActorHost, BatchEffects, Envelope, OutEvent } from "../ports/actor-host.js";
import type { Clock, TimerHandle } from "../ports/clock.js";
import type { Row } from "../ports/row-sink.js";

type Msg = { readonly type: string };
type AnyLogic = ActorLogic<unknown, Msg>;

interface Slot {
  state: unknown;
  partition: number;
  timers: Map<string, TimerHandle>;
}

/**
 * The first, single-threaded ActorHost: one turn at a time in delivery order, effects buffered per turn
 * and committed only when the turn returns, a throwing turn dead-letters its message. Timers run on
 * the injected Clock; effects of timer-driven turns go to `onSpontaneous`. The worker-thread runtime
 * (src/runtime) replaces it; both implement the same port.
 */
export function createSingleThreadHost(logics: readonly AnyLogic[], clock: Clock, onSpontaneous: (events: OutEvent[]) => void): ActorHost & { readonly active: number } {
  const byType = new Map(logics.map((l) => [l.type, l]));
  const actors = new Map<string, Slot>();
  const key = (type: string, id: string) => `${type}\u0000${id}`;

  function turn(logic: AnyLogic, type: string, id: string, partition: number, msg: Msg, out: BatchEffects, env: Envelope): void {
    const k = key(type, id);
    let slot = actors.get(k);
    if (slot === undefined) {
      slot = { state: logic.initial(id), partition, timers: new Map() };
      actors.set(k, slot);
    }
    const rows: Array<[string, Row]> = [];
    const events: OutEvent[] = [];
    const timerOps: Array<[string, number, Msg] | [string]> = [];
    const s = slot;
    const ctx: ActorContext<Msg> = {
      self: { type, id },
      now: () => clock.now(),
      send: () => {
        throw new Error("send is not supported by the single-thread host");
      },
      emit: (subject, data) => events.push({ subject, data }),
      write: (table, row) => rows.push([table, row]),
      call: () => {
        throw new Error("call is not supported by the single-thread host");
      },
      setTimer: (name, delayMs, m) => timerOps.push([name, delayMs, m]),
      cancelTimer: (name) => timerOps.push([name]),
    };
    try {
      s.state = logic.receive(s.state, msg, ctx);
    } catch (e) {
      out.deadLetters.push({ stage: "runtime", code: "handler_failed", reason: (e as Error).message, envelope: env });
      return;
    }
    for (const [table, row] of rows) {
      let acc = out.rows.get(table);
      if (acc === undefined) out.rows.set(table, (acc = []));
      acc.push(row);
    }
    for (const ev of events) out.events.push(ev);
    for (const op of timerOps) {
      const old = s.timers.get(op[0]);
      if (old !== undefined) clock.clearTimeout(old);
      s.timers.delete(op[0]);
      if (op.length === 3) {
        const [name, delay, m] = op;
        s.timers.set(
          name,
          clock.setTimeout(() => {
            s.timers.delete(name);
            const fx: BatchEffects = { rows: new Map(), events: [], calls: [], deadLetters: [] };
            turn(logic, type, id, s.partition, m, fx, { actorType: type, actorId: id, partition: s.partition, streamSeq: 0, msg: m });
            if (fx.events.length > 0) onSpontaneous(fx.events);
          }, delay),
        );
      }
    }
  }

  return {
    get active() {
      return actors.size;
    },
    async deliver(batch) {
      const out: BatchEffects = { rows: new Map(), events: [], calls: [], deadLetters: [] };
      for (const env of batch) {
        const logic = byType.get(env.actorType);
        if (logic === undefined) {
          out.deadLetters.push({ stage: "runtime", code: "unknown_actor_type", reason: `no actor logic of type "${env.actorType}"`, envelope: env });
          continue;
        }
        turn(logic, env.actorType, env.actorId, env.partition, env.msg, out, env);
      }
      return out;
    },
    async resetPartition(partition) {
      for (const [k, slot] of actors) {
        if (slot.partition !== partition) continue;
        for (const t of slot.timers.values()) clock.clearTimeout(t);
        actors.delete(k);
      }
    },
    async close() {
      for (const slot of actors.values()) for (const t of slot.timers.values()) clock.clearTimeout(t);
      actors.clear();
    },
  };
}
