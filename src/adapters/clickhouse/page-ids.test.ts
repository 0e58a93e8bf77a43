import { describe, expect, it } from "vitest";
import { pageIdsOf } from "./page-ids.js";

describe("pageIdsOf", () => {
  it("takes the first `limit` distinct ids of rows in key order", () => {
    expect(pageIdsOf(["a", "a", "b", "c", "c", "d"], 6, 3)).toEqual(["a", "b", "c"]);
    expect(pageIdsOf(["a", "b", "b", "b"], 4, 2)).toEqual(["a", "b"]);
  });

  it("gives every id when fewer rows came than were asked (the end of the table)", () => {
    expect(pageIdsOf(["a", "a", "b"], 8, 5)).toEqual(["a", "b"]);
    expect(pageIdsOf([], 8, 5)).toEqual([]);
  });

  it("gives up when the rows read hold fewer distinct ids than the page needs (too many unmerged rows)", () => {
    expect(pageIdsOf(["a", "a", "a", "a", "b", "b", "b", "b"], 8, 3)).toBeUndefined();
    expect(pageIdsOf(["a", "a", "a", "a"], 4, 2)).toBeUndefined();
  });
});
