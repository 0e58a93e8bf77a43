import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ActorLogic } from "../ports/actor.js";
import type { Envelope } from "../ports/actor-host.js";
import { rowObjects } from "../domain/row-batch.js";
import { SimClock } from "../base/testing/sim-clock.js";
import { createInlineHost, type InlineHost } from "./inline-host.js";
import { MemoryJournal } from "./testing/memory-journal.js";
import { MemorySnapshotStore } from "./testing/memory-snapshot-store.js";
import { createCounterActor, type CounterMsg, type CounterState } from "./testing/test-actors.js";

const IDS = ["a", "b", "c", "d", "e"];
const P = 2;
const partOf = (_t: string, id: string) => IDS.indexOf(id) % P;

/** Wrap a logic to detect overlapping turns (re-entrancy or two turns of one actor at once). */
function guarded(logic: ActorLogic<CounterState, CounterMsg>) {
  const inTurn = new Set<string>();
  let violations = 0;
  const wrapped: ActorLogic<CounterState, CounterMsg> = {
    ...logic,
    receive(s, m, ctx) {
      if (inTurn.size > 0) violations++;
      inTurn.add(ctx.self.id);
      try {
        return logic.receive(s, m, ctx);
      } finally {
        inTurn.delete(ctx.self.id);
      }
    },
  };
  return { wrapped, violations: () => violations };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

describe("runtime properties (simulated clock)", () => {
  it("preserves per-actor order, loses nothing, never overlaps turns and keeps mailboxes bounded", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.record({ id: fc.constantFrom(...IDS), fail: fc.nat(2) }), { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 3 }),
        async (batches, maxActive, mailboxCapacity, queueCapacity, turnsPerSlice) => {
          const clock = new SimClock();
          const g = guarded(createCounterActor());
          const host = createInlineHost({ logics: [g.wrapped], snapshots: new MemorySnapshotStore(), clock, partitions: P, partitionOf: partOf, maxActiveActors: maxActive, mailboxCapacity, queueCapacity, turnsPerSlice, maxAttempts: 5, backoffBaseMs: 5, commitMode: "on-return" });
          const next = new Map<string, number>();
          const expected = new Map<string, number[]>();
          let streamSeq = 0;
          const rows = new Map<string, number[]>();
          const pending = batches.map((b) =>
            b.map(({ id, fail }): Envelope => {
              const seq = (next.get(id) ?? 0) + 1;
              next.set(id, seq);
              expected.set(id, [...(expected.get(id) ?? []), seq]);
              const msg: CounterMsg = fail > 0 ? { type: "fail", seq, times: fail } : { type: "add", n: seq, seq };
              return { actorType: "counter", actorId: id, partition: partOf("counter", id), streamSeq: ++streamSeq, msg };
            }),
          );
          // All batches delivered concurrently; time advances until they finish.
          let finished = 0;
          const all = pending.map((b) =>
            host.deliver(b).then((fx) => {
              finished++;
              for (const r of rowObjects(fx.rows.get("counts")) as { id: string; seq: number }[]) rows.set(r.id, [...(rows.get(r.id) ?? []), r.seq]);
              return fx;
            }),
          );
          for (let i = 0; finished < pending.length && i < 10_000; i++) {
            await tick();
            const st = (await host.introspect()).workers[0]!;
            expect(st.maxMailboxDepth).toBeLessThanOrEqual(mailboxCapacity);
            expect(st.mailboxDepth).toBeLessThanOrEqual(queueCapacity);
            clock.advanceSync(5);
          }
          const effects = await Promise.all(all);
          expect(effects.flatMap((e) => e.deadLetters)).toEqual([]);
          expect(g.violations()).toBe(0);
          for (const [id, seqs] of expected) {
            const adds = seqs.filter((_, i) => pending.flat().find((e) => e.actorId === id && (e.msg as unknown as { seq: number }).seq === seqs[i])!.msg.type === "add");
            expect(rows.get(id) ?? []).toEqual(adds);
            const s = host.peek("counter", id) as CounterState | undefined;
            if (s !== undefined) expect(s.log).toEqual(seqs);
          }
          await host.close();
        },
      ),
      { numRuns: 60 },
    );
  });

  it("round-trips snapshots: restore(snapshot(s)) equals s", () => {
    const logic = createCounterActor();
    fc.assert(
      fc.property(fc.record({ id: fc.string(), total: fc.integer(), hwm: fc.nat(), log: fc.array(fc.nat()), timeouts: fc.nat(), config: fc.integer() }), (s) => {
        expect(logic.restore(logic.snapshot(s), s.id)).toEqual(s);
      }),
    );
  });

  it("ends with the same actor state and the same sink rows as a fault-free run despite sink failures, resets and process crashes", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ id: fc.constantFrom(...IDS), fault: fc.constantFrom("none", "none", "none", "sink", "crash", "flush") }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        async (steps, snapshotEvery, maxActive) => {
          const journal = new MemoryJournal();
          const store = new MemorySnapshotStore();
          const clock = new SimClock();
          const make = (): InlineHost => createInlineHost({ logics: [createCounterActor()], snapshots: store, journal, clock, partitions: P, partitionOf: partOf, snapshotEveryMessages: snapshotEvery, maxActiveActors: maxActive });
          let host = make();
          const sink = new Map<string, number>();
          const ackFloor = new Map<number, number>();
          const next = new Map<string, number>();
          const expectedTotal = new Map<string, number>();
          for (const { id, fault } of steps) {
            const seq = (next.get(id) ?? 0) + 1;
            next.set(id, seq);
            expectedTotal.set(id, (expectedTotal.get(id) ?? 0) + seq);
            const p = partOf("counter", id);
            const batch = journal.append(p, [{ actorType: "counter", actorId: id, msg: { type: "add", n: seq, seq } }]);
            for (let attempt = 0; ; attempt++) {
              const fx = await host.deliver(batch);
              if (fault === "sink" && attempt === 0) {
                // Rows not durable: nak + reset, JetStream redelivers.
                await host.resetPartition(p);
                continue;
              }
              for (const r of rowObjects(fx.rows.get("counts")) as { id: string; seq: number; total: number }[]) sink.set(`${r.id}:${r.seq}`, r.total);
              ackFloor.set(p, batch[0]!.streamSeq);
              host.committed(p, batch[0]!.streamSeq);
              break;
            }
            if (fault === "flush") await host.flushSnapshots();
            if (fault === "crash") {
              // SIGKILL: nothing flushed, a new process recovers every partition before pulling.
              host = make();
              for (let q = 0; q < P; q++) await host.recover(q, ackFloor.get(q) ?? 0);
            }
            clock.advanceSync(10);
          }
          for (const [id, total] of expectedTotal) {
            // Touch the actor (a no-op message outside the journal) so it is active.
            await host.deliver([{ actorType: "counter", actorId: id, partition: partOf("counter", id), streamSeq: 0, msg: { type: "config", v: 0 } as CounterMsg }]);
            const s = host.peek("counter", id) as CounterState;
            expect(s.total).toBe(total);
            expect(s.log).toEqual(Array.from({ length: next.get(id)! }, (_, i) => i + 1));
            for (let q = 1; q <= next.get(id)!; q++) expect(sink.get(`${id}:${q}`)).toBe((q * (q + 1)) / 2);
          }
          expect(sink.size).toBe(steps.length);
        },
      ),
      { numRuns: 150 },
    );
  });
});
