import type { ActorAddress, ActorContext } from "../ports/actor.js";
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
  /** Rows of this turn: the first `rowN` entries (slots are overwritten, not truncated, per turn). */
  readonly rowTables: string[] = [];
  readonly rows: Row[] = [];
  rowN = 0;
  readonly events: { subject: string; data: unknown }[] = [];
  /** Pairs: address, message. */
  readonly sends: unknown[] = [];
  readonly calls: TurnCall[] = [];
  /** Timer changes of this turn: the first `timerN` entries (as for rows). */
  readonly timerNames: string[] = [];
  /** Delay in ms, or -1 for a cancellation. */
  readonly timerDelays: number[] = [];
  readonly timerMsgs: unknown[] = [];
  timerN = 0;
  /** The turn called `ctx.keepTrace()`. */
  keep = false;
  /** `traceparent` of the turn's span when the turn is traced (its calls continue it). */
  span: string | undefined = undefined;
  /** The clock's time when the current slice of turns began: `ctx.now()` (set by the engine). */
  sliceNow = 0;
  readonly ctx: ActorContext<Msg>;

  constructor() {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the ctx getters need the buffer, not the ctx
    const t = this;
    this.ctx = {
      get self(): ActorAddress {
        return t.cur!.self;
      },
      now: () => t.sliceNow,
      send(to, msg) {
        t.sends.push(to, msg);
      },
      emit(subject, data) {
        t.events.push({ subject, data });
      },
      write(table, row) {
        const i = t.rowN++;
        t.rowTables[i] = table;
        t.rows[i] = row;
      },
      call(service, method, req, onReply, onError) {
        t.calls.push({ service, method, req, onReply: onReply as PendingCall["onReply"], onError });
      },
      setTimer(name, delayMs, msg) {
        const i = t.timerN++;
        t.timerNames[i] = name;
        t.timerDelays[i] = Math.max(0, delayMs);
        t.timerMsgs[i] = msg;
      },
      cancelTimer(name) {
        const i = t.timerN++;
        t.timerNames[i] = name;
        t.timerDelays[i] = -1;
        t.timerMsgs[i] = null;
      },
      keepTrace() {
        t.keep = true;
      },
    };
  }

  /** Append the turn's rows (grouped by table) and events to `acc`. */
  commitRowsAndEvents(acc: EffectsAcc): void {
    const rows = this.rows;
    let lastTable = "";
    let arr: Row[] | undefined;
    for (let i = 0, n = this.rowN; i < n; i++) {
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
    // Rows and timers (every turn of a device actor) are counted, not truncated: setting an
    // array's length is not free. The stale slots are overwritten by the next turns.
    this.rowN = 0;
    this.timerN = 0;
    this.keep = false;
    this.span = undefined;
    if (this.events.length !== 0) this.events.length = 0;
    if (this.sends.length !== 0) this.sends.length = 0;
    if (this.calls.length !== 0) this.calls.length = 0;
  }
}
