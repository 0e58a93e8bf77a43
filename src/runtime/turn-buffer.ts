import type { ActorAddress, ActorContext } from "../ports/actor.js";
import type { Clock } from "../ports/clock.js";
import type { Row } from "../ports/row-sink.js";
import type { ActorCell } from "./actor-cell.js";
import type { EffectsAcc } from "./effects.js";
import type { Msg, PendingCall } from "./shard-types.js";

/** A `ctx.call` made during the current turn. */
export interface TurnCall {
  readonly service: string;
  readonly method: string;
  readonly req: unknown;
  readonly onReply: PendingCall["onReply"];
  readonly onError: PendingCall["onError"];
}

/**
 * The effects of the turn being run, buffered so that a throwing turn has none, plus the one
 * ActorContext every turn of the shard receives. The arrays are reused turn after turn (parallel
 * columns, no object per row or timer).
 */
export class TurnBuffer {
  /** The cell whose turn is running (`ctx.self`); null between turns. */
  cur: ActorCell | null = null;
  readonly rowTables: string[] = [];
  readonly rows: Row[] = [];
  readonly events: { subject: string; data: unknown }[] = [];
  /** Pairs: address, message. */
  readonly sends: unknown[] = [];
  readonly calls: TurnCall[] = [];
  readonly timerNames: string[] = [];
  /** Delay in ms, or -1 for a cancellation. */
  readonly timerDelays: number[] = [];
  readonly timerMsgs: unknown[] = [];
  readonly ctx: ActorContext<Msg>;

  constructor(clock: Clock) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the ctx getters need the buffer, not the ctx
    const t = this;
    this.ctx = {
      get self(): ActorAddress {
        return t.cur!.self;
      },
      now: () => clock.now(),
      send(to, msg) {
        t.sends.push(to, msg);
      },
      emit(subject, data) {
        t.events.push({ subject, data });
      },
      write(table, row) {
        t.rowTables.push(table);
        t.rows.push(row);
      },
      call(service, method, req, onReply, onError) {
        t.calls.push({ service, method, req, onReply: onReply as PendingCall["onReply"], onError });
      },
      setTimer(name, delayMs, msg) {
        t.timerNames.push(name);
        t.timerDelays.push(Math.max(0, delayMs));
        t.timerMsgs.push(msg);
      },
      cancelTimer(name) {
        t.timerNames.push(name);
        t.timerDelays.push(-1);
        t.timerMsgs.push(null);
      },
    };
  }

  /** Append the turn's rows (grouped by table) and events to `acc`. */
  commitRowsAndEvents(acc: EffectsAcc): void {
    const rows = this.rows;
    let lastTable = "";
    let arr: Row[] | undefined;
    for (let i = 0; i < rows.length; i++) {
      const t = this.rowTables[i]!;
      if (t !== lastTable || arr === undefined) {
        arr = acc.rows.get(t);
        if (arr === undefined) acc.rows.set(t, (arr = []));
        lastTable = t;
      }
      arr.push(rows[i]!);
    }
    const events = this.events;
    for (let i = 0; i < events.length; i++) acc.events.push(events[i]!);
  }

  /** Forget the turn's effects. */
  reset(): void {
    // Truncating an empty array is not free: only touch the buffers this turn used.
    if (this.rows.length !== 0) {
      this.rowTables.length = 0;
      this.rows.length = 0;
    }
    if (this.events.length !== 0) this.events.length = 0;
    if (this.sends.length !== 0) this.sends.length = 0;
    if (this.calls.length !== 0) this.calls.length = 0;
    if (this.timerNames.length !== 0) {
      this.timerNames.length = 0;
      this.timerDelays.length = 0;
      this.timerMsgs.length = 0;
    }
  }
}
