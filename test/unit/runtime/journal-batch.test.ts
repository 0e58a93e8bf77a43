import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { encodeReading } from "../../../src/domain/reading-codec.js";
import { encodeReadingBatchWire } from "../../../src/domain/reading-wire-write.js";
import { journalEnvelope } from "../../../src/domain/journal-envelopes.js";
import { decodeJournal, decodePackedJournal, packJournal, type JournalDecoder } from "../../../src/runtime/journal-batch.js";

const arbMessage = fc.oneof(
  { weight: 4, arbitrary: fc.record({ deviceId: fc.stringMatching(/^[a-z0-9-]{1,20}$/), seq: fc.integer({ min: 1, max: 1e9 }), tsMs: fc.integer({ min: 0, max: 2e12 }), v: fc.double({ noNaN: true }) }).map((r) => encodeReading({ deviceId: r.deviceId, seq: r.seq, tsMs: r.tsMs, metrics: { m: r.v } })) },
  // Garbage and truncated messages: corrupt, reported by index, never applied.
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 30 }) },
  { weight: 1, arbitrary: fc.constant(encodeReading({ deviceId: "cut", seq: 1, tsMs: 1, metrics: { m: 1 } }).subarray(0, 9)) },
);

describe("decodePackedJournal", () => {
  it("decodes a packed batch in place exactly as message by message (columns and corrupt indexes)", () => {
    fc.assert(
      fc.property(fc.array(arbMessage, { maxLength: 40 }), fc.integer({ min: 1, max: 1e6 }), (datas, first) => {
        const msgs = datas.map((data, i) => ({ data, streamSeq: first + i }));
        const one = decodeJournal(5, msgs, journalEnvelope);
        const packed = decodePackedJournal(packJournal(5, msgs), journalEnvelope);
        expect(packed).toEqual(one);
        expect(one.cols.ids.length + one.corrupt.length).toBe(msgs.length);
      }),
      { numRuns: 200 },
    );
  });

  it("an empty message before a journal command's first byte is corrupt alone (found by the property above)", () => {
    const msgs = [Uint8Array.from([]), Uint8Array.from([0x72])].map((data, i) => ({ data, streamSeq: 1 + i }));
    const one = decodeJournal(5, msgs, journalEnvelope);
    expect(decodePackedJournal(packJournal(5, msgs), journalEnvelope)).toEqual(one);
    expect(one.corrupt.map((c) => c.reason)).toEqual(["stream seq 1: journal message is not a valid shoal.v1.Reading (no device id)", "stream seq 2: truncated journal command length"]);
  });

  it("reads each message only within its own bytes (a neighbour's bytes are not part of it)", () => {
    const a = encodeReading({ deviceId: "a", seq: 1, tsMs: 5, metrics: { x: 1 } });
    const b = encodeReading({ deviceId: "b", seq: 2, tsMs: 6, metrics: { y: 2 } });
    const { cols, corrupt } = decodePackedJournal(packJournal(0, [{ data: a.subarray(0, a.length - 1), streamSeq: 1 }, { data: b, streamSeq: 2 }]), journalEnvelope);
    expect(corrupt.map((c) => c.index)).toEqual([0]);
    expect(cols.ids).toEqual(["b"]);
  });
});

describe("device journal decoder (one message per device actor and journal message)", () => {
  const r = (deviceId: string, seq: number) => ({ deviceId, seq, tsMs: seq, metrics: { m: seq } });

  it("groups a batch's readings by device in journal order; a device with one reading gets a `reading`", () => {
    const batch = encodeReadingBatchWire([r("a", 1), r("b", 1), r("a", 2)].map(encodeReading));
    const { cols, corrupt } = decodeJournal(3, [{ data: batch, streamSeq: 9 }], journalEnvelope);
    expect(corrupt).toEqual([]);
    expect(cols.ids).toEqual(["a", "b"]);
    expect([...Array.from(cols.seqs)]).toEqual([9, 9]);
    expect(cols.msgs).toEqual([
      { type: "readings", readings: [r("a", 1), r("a", 2)], streamSeq: 9 },
      { type: "reading", reading: r("b", 1), streamSeq: 9 },
    ]);
  });

  it("any batch: one message per device in order of first appearance, its readings in journal order (distinct devices or not, traced or not)", () => {
    // Few ids for repeats, up to 40 readings (past the pairwise check's 32), some traced.
    const arbReading = fc.record({ id: fc.constantFrom("a", "b", "c", "d", "e", "f", "g", "h"), unique: fc.boolean(), traced: fc.boolean() });
    const arbBatch = fc.oneof(fc.array(arbReading, { minLength: 2, maxLength: 12 }), fc.array(arbReading, { minLength: 33, maxLength: 40 }));
    fc.assert(
      fc.property(arbBatch, (spec) => {
        const readings = spec.map((s, i) => ({ ...r(s.unique ? `${s.id}${i}` : s.id, i + 1), ...(s.traced ? { trace: `00-${"1".repeat(32)}-${String(i + 1).padStart(16, "0")}-01` } : {}) }));
        const { cols, corrupt } = decodeJournal(3, [{ data: encodeReadingBatchWire(readings.map(encodeReading)), streamSeq: 7 }], journalEnvelope);
        expect(corrupt).toEqual([]);
        // The reference: group by device, first appearance first; the first trace of a device's readings.
        const byDevice = new Map<string, typeof readings>();
        for (const x of readings) byDevice.set(x.deviceId, [...(byDevice.get(x.deviceId) ?? []), x]);
        expect(cols.ids).toEqual([...byDevice.keys()]);
        expect(cols.msgs).toEqual(
          [...byDevice.values()].map((list) => {
            const msg = list.length === 1 ? { type: "reading", reading: list[0], streamSeq: 7 } : { type: "readings", readings: list, streamSeq: 7 };
            const trace = list.find((x) => x.trace !== undefined)?.trace;
            return trace === undefined ? msg : { ...msg, trace };
          }),
        );
      }),
      { numRuns: 300 },
    );
  });

  it("applies nothing of a batch with a corrupt reading (the whole journal message is corrupt)", () => {
    const good = encodeReading(r("a", 1));
    const bad = encodeReading(r("b", 1)).subarray(0, 4);
    const batch = encodeReadingBatchWire([good, bad]);
    const { cols, corrupt } = decodeJournal(3, [{ data: batch, streamSeq: 1 }, { data: encodeReadingBatchWire([encodeReading(r("c", 1))]), streamSeq: 2 }], journalEnvelope);
    expect(corrupt.map((c) => c.index)).toEqual([0]);
    expect(cols.ids).toEqual(["c"]);
  });

  it("drops what a decoder emitted for a message before it threw; the columns hold exactly the good messages' envelopes", () => {
    // A decoder that emits each byte as an envelope and throws at a 0 (after emitting what came before it).
    const bytesDecoder: JournalDecoder = (data, streamSeq, _p, start, end, emit) => {
      for (let i = start; i < end; i++) {
        if (data[i] === 0) throw new RangeError("zero");
        emit("t", `${streamSeq}:${data[i]}`, { type: "x" });
      }
    };
    const msgs = [[1, 2], [3, 4, 0, 5], [6], [0], [7, 8, 9]].map((b, i) => ({ data: Uint8Array.from(b), streamSeq: i + 1 }));
    for (const { cols, corrupt } of [decodeJournal(0, msgs, bytesDecoder), decodePackedJournal(packJournal(0, msgs), bytesDecoder)]) {
      expect(corrupt.map((c) => c.index)).toEqual([1, 3]);
      expect(cols.ids).toEqual(["1:1", "1:2", "3:6", "5:7", "5:8", "5:9"]);
      expect(cols.seqs).toEqual([1, 1, 3, 5, 5, 5]);
      expect([cols.types.length, cols.parts.length, cols.msgs.length]).toEqual([6, 6, 6]);
    }
  });
});
