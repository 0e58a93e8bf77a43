import { describe, expect, it } from "vitest";
import { displayedRowCount, needsNextPage, rowWindow } from "./virtual-window.js";

describe("rowWindow", () => {
  it("renders the visible rows plus overscan", () => {
    const w = rowWindow({ scrollTop: 3000, viewportHeight: 600, rowHeight: 30, rowCount: 100_000, overscan: 5 });
    expect(w.firstVisible).toBe(100);
    expect(w.endVisible).toBe(120);
    expect(w.start).toBe(95);
    expect(w.end).toBe(125);
    expect(w.padTop).toBe(95 * 30);
    expect(w.padBottom).toBe((100_000 - 125) * 30);
  });

  it("keeps the total height whatever the position (scrollbar stays true)", () => {
    for (const top of [0, 17, 29_999, 3_000_000]) {
      const w = rowWindow({ scrollTop: top, viewportHeight: 480, rowHeight: 30, rowCount: 100_000 });
      expect(w.padTop + (w.end - w.start) * 30 + w.padBottom).toBe(100_000 * 30);
      expect(w.end - w.start).toBeLessThanOrEqual(Math.ceil(480 / 30) + 1 + 16);
    }
  });

  it("clamps at both ends and when rows shrank under the scroll position", () => {
    expect(rowWindow({ scrollTop: -50, viewportHeight: 300, rowHeight: 30, rowCount: 100 })).toMatchObject({ start: 0, firstVisible: 0 });
    const past = rowWindow({ scrollTop: 1_000_000, viewportHeight: 300, rowHeight: 30, rowCount: 20 });
    expect(past).toMatchObject({ end: 20, padBottom: 0, endVisible: 20 });
    expect(past.start).toBeLessThan(20);
    expect(rowWindow({ scrollTop: 0, viewportHeight: 300, rowHeight: 30, rowCount: 0 })).toMatchObject({ start: 0, end: 0, padTop: 0, padBottom: 0 });
    expect(() => rowWindow({ scrollTop: 0, viewportHeight: 300, rowHeight: 0, rowCount: 5 })).toThrow(/rowHeight/);
  });
});

describe("paging", () => {
  it("asks for the next page near the end of the loaded rows, once", () => {
    expect(needsNextPage({ end: 400 }, { loaded: 500, hasMore: true, loading: false }, 100)).toBe(true);
    expect(needsNextPage({ end: 300 }, { loaded: 500, hasMore: true, loading: false }, 100)).toBe(false);
    expect(needsNextPage({ end: 480 }, { loaded: 500, hasMore: true, loading: true }, 100)).toBe(false);
    expect(needsNextPage({ end: 480 }, { loaded: 500, hasMore: false, loading: false }, 100)).toBe(false);
    expect(needsNextPage({ end: 0 }, { loaded: 0, hasMore: true, loading: false })).toBe(true);
  });

  it("shows placeholders only while more exist", () => {
    expect(displayedRowCount({ loaded: 500, hasMore: true }, 40)).toBe(540);
    expect(displayedRowCount({ loaded: 500, hasMore: false }, 40)).toBe(500);
  });
});
