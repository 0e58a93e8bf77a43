import { actorDeadLetter } from "../domain/dead-letter.js";
import { partitionOf } from "../domain/partition.js";
import type { ActorCacheCalls, ActorCallService } from "../ports/actor-services.js";
import type { Log } from "../ports/log.js";
import { ACTOR_CACHE_SERVICE } from "../ports/actor-cache.js";
import type { BatchEffects, CallResult, OutCall, RuntimeHost } from "../ports/actor-host.js";
import type { EventPublisher } from "../ports/journal.js";
import { type RowSink } from "../ports/row-sink.js";
import { rowObjects } from "../domain/row-batch.js";
import type { Tracing } from "../ports/tracing.js";
import { writeTraced } from "./trace-effects.js";

const utf8 = new TextEncoder();

/** Cache lookups in flight at most; beyond, a lookup answers "unavailable" at once (the actor asks the gateway). */
const MAX_CACHE_IN_FLIGHT = 10_000;

/** Counters of the calls actors made and of the effects their replies (and timers) produced. */
export interface CallRouterStats {
  /** Calls answered (replies and errors alike). */
  answered: number;
  /** Dead letters of background turns (timers, replies) published to `shoal.dlq.runtime`. */
  deadLettered: number;
  /** Rows of background turns the sink refused, dead-lettered one message per row. */
  rowsDeadLettered: number;
  /** Replies the host could not deliver (the actor's worker failed meanwhile). */
  undelivered: number;
}

/**
 * Routes the runtime's outgoing actor calls (service "gateway" to the model gateway, "cache" to the
 * per-actor cache, anything else answered with an error) and commits the effects of the turns their
 * replies (and timers) run: events, rows, dead letters and further calls. It counts the calls in
 * flight per partition, so a partition being handed off can wait for its replies before its actors
 * are forgotten (a reply arriving after that would be lost).
 */
export class CallRouter {
  readonly stats: CallRouterStats = { answered: 0, deadLettered: 0, rowsDeadLettered: 0, undelivered: 0 };
  private cacheInFlight = 0;
  private readonly inFlight = new Map<number, number>();
  private readonly idle = new Map<number, (() => void)[]>();

  constructor(
    private readonly d: {
      readonly host: RuntimeHost;
      readonly caller: ActorCallService;
      readonly actorCache: ActorCacheCalls;
      readonly events: EventPublisher;
      readonly sink: RowSink;
      readonly partitions: number;
      readonly log: Log;
      /** Where the spans of traced reply turns and their inserts go. Default: off. */
      readonly tracing?: Tracing;
    },
  ) {}

  /** Calls of a turn (a journal batch's, once acked, or a background turn's). */
  dispatch(calls: readonly OutCall[]): void {
    for (const out of calls) {
      const p = partitionOf(out.from.id, this.d.partitions);
      this.inFlight.set(p, (this.inFlight.get(p) ?? 0) + 1);
      // A traced turn's call: a client span, whose context the service's spans continue.
      const span = out.trace !== undefined && this.d.tracing !== undefined ? this.d.tracing.start(`shoal.call ${out.service}.${out.method}`, { parent: out.trace, kind: "client", attributes: { "rpc.service": out.service, "rpc.method": out.method, "shoal.actor.id": out.from.id } }) : undefined;
      const c: OutCall = span === undefined ? out : { ...out, trace: span.traceparent };
      const answer = (callId: number, result: CallResult) => {
        if (span !== undefined) {
          if (!result.ok) span.fail(result.error.message);
          span.end();
        }
        void this.reply(p, callId, result);
      };
      if (c.service === ACTOR_CACHE_SERVICE) {
        if (this.cacheInFlight >= MAX_CACHE_IN_FLIGHT) {
          answer(c.callId, { ok: false, error: new Error("actor cache overloaded") });
          continue;
        }
        this.cacheInFlight++;
        this.d.actorCache
          .handle(c)
          .then(
            (value) => answer(c.callId, { ok: true, value }),
            (error: Error) => answer(c.callId, { ok: false, error }),
          )
          .finally(() => this.cacheInFlight--);
        continue;
      }
      if (!this.d.caller.submitOutCall(c, answer)) {
        this.d.log.warn({ service: c.service, method: c.method }, "actor called an unknown service");
        answer(c.callId, { ok: false, error: new Error(`unknown service "${c.service}"`) });
      }
    }
  }

  /** Effects of a turn no journal batch waits for (a reply's or a timer's). */
  commit(fx: BatchEffects): void {
    for (const e of fx.events) this.d.events.event(e.subject, e.data);
    for (const dl of fx.deadLetters) {
      this.d.events.deadLetter(actorDeadLetter(dl)).then(
        () => this.stats.deadLettered++,
        (e: Error) => this.d.log.error({ err: e.message, code: dl.code }, "dead letter of a background turn not published"),
      );
    }
    // No journal ack waits for these rows: they ride with the next insert instead of forcing one.
    const stored = writeTraced(this.d.tracing, fx, (r, o) => this.d.sink.write(r, o), { lazy: true });
    if (stored !== undefined) {
      stored.catch((e: Error & { code?: unknown }) => {
        // Nothing acks these rows (no journal message carries them): dead-letter each one, counted.
        this.d.log.error({ err: e.message }, "rows of a background turn were not stored; dead-lettering them");
        for (const [table, rows] of fx.rows) {
          for (const row of rowObjects(rows)) {
            const payload = utf8.encode(JSON.stringify({ table, row }));
            this.d.events.deadLetter({ stage: "runtime", code: typeof e.code === "string" ? e.code : "rows_rejected", reason: e.message, source: `table ${table}`, payload }).then(
              () => this.stats.rowsDeadLettered++,
              (err: Error) => this.d.log.error({ err: err.message, table }, "dead letter of a refused row not published"),
            );
          }
        }
      });
    }
    if (fx.calls.length > 0) this.dispatch(fx.calls);
  }

  /**
   * Resolves once partition `p` has no call in flight, or after `timeoutMs`; with the number of its
   * calls still unanswered then (0 = all answered).
   */
  async drained(p: number, timeoutMs: number): Promise<number> {
    if ((this.inFlight.get(p) ?? 0) === 0) return 0;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((r) => {
        const list = this.idle.get(p) ?? [];
        list.push(r);
        this.idle.set(p, list);
      }),
      new Promise<void>((r) => (timer = setTimeout(r, timeoutMs))),
    ]);
    clearTimeout(timer);
    return this.inFlight.get(p) ?? 0;
  }

  /** Calls in flight, all partitions. */
  pending(): number {
    let n = 0;
    for (const v of this.inFlight.values()) n += v;
    return n;
  }

  private async reply(p: number, callId: number, result: CallResult): Promise<void> {
    try {
      const fx = await this.d.host.resolveCall(callId, result);
      this.commit(fx); // its own calls are counted before this one ends: the count never dips to 0 early
    } catch (e) {
      this.stats.undelivered++;
      this.d.log.warn({ err: (e as Error).message }, "service reply not delivered");
    } finally {
      this.stats.answered++;
      const left = (this.inFlight.get(p) ?? 1) - 1;
      if (left > 0) this.inFlight.set(p, left);
      else {
        this.inFlight.delete(p);
        for (const r of this.idle.get(p) ?? []) r();
        this.idle.delete(p);
      }
    }
  }
}
