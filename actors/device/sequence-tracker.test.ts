import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { acceptSeq, newSeqState } from "./sequence-tracker.js";

describe("sequence tracker", () => {
  it("accepts each seq exactly once under any reordering and duplication within the gap bound", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }).chain((n) =>
          fc.tuple(fc.constant(n), fc.shuffledSubarray(Array.from({ length: n }, (_, i) => i + 1), { minLength: n, maxLength: n }), fc.array(fc.integer({ min: 1, max: n }), { maxLength: 50 })),
        ),
        ([n, order, dups]) => {
          const s = newSeqState();
          const accepted: number[] = [];
          const stream = [...order];
          for (const d of dups) stream.splice(Math.floor((d * 7919) % (stream.length + 1)), 0, d);
          for (const q of stream) if (acceptSeq(s, q, 1024) === "new") accepted.push(q);
          expect(accepted.sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
          expect(s.gaps).toBeNull();
          expect(s.hwm).toBe(n);
        },
      ),
    );
  });

  it("bounds remembered gaps and counts the forgotten ones", () => {
    const s = newSeqState();
    expect(acceptSeq(s, 1, 4)).toBe("new");
    expect(acceptSeq(s, 10, 4)).toBe("new");
    expect(s.gaps).toEqual([6, 7, 8, 9]);
    expect(s.gapsForgotten).toBe(4);
    expect(acceptSeq(s, 3, 4)).toBe("duplicate");
    expect(acceptSeq(s, 7, 4)).toBe("new");
    expect(acceptSeq(s, 7, 4)).toBe("duplicate");
  });
});
