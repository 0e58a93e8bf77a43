import { describe, expect, it } from "vitest";
import { validateDeviceId, validateDeviceType, validateLabels } from "./validate.js";

describe("validateDeviceId", () => {
  it.each([
    ["dev-1", undefined],
    ["A_b-9", undefined],
    ["x".repeat(128), undefined],
    ["", "id: required"],
    ["x".repeat(129), "id: must match"],
    ["a.b", "id: must match"],
    ["a/b", "id: must match"],
    ["a b", "id: must match"],
    ["dev*", "id: must match"],
    ["dév", "id: must match"],
    ["shoal-bridge", "are reserved"],
    ["SHOAL-admin", "are reserved"],
    ["shoal", undefined],
  ])("%j → %s", (id, want) => {
    const got = validateDeviceId(id);
    if (want === undefined) expect(got).toBeUndefined();
    else expect(got).toContain(want);
  });

  it("names the field it is told", () => {
    expect(validateDeviceId("", "rows[3].id")).toBe("rows[3].id: required");
  });
});

describe("validateDeviceType", () => {
  it.each([
    ["", undefined],
    ["thermostat", undefined],
    ["v1.2_x-y", undefined],
    ["t".repeat(64), undefined],
    ["t".repeat(65), "type: must match"],
    ["has space", "type: must match"],
    ["a/b", "type: must match"],
  ])("%j → %s", (t, want) => {
    const got = validateDeviceType(t);
    if (want === undefined) expect(got).toBeUndefined();
    else expect(got).toContain(want);
  });
});

describe("validateLabels", () => {
  const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, "v"]));
  it.each<[string, Record<string, string>, string | undefined]>([
    ["none", {}, undefined],
    ["ordinary", { site: "north", "rack.row": "3", zone_a: "", "x-y": "z" }, undefined],
    ["32 labels", many(32), undefined],
    ["33 labels", many(33), "labels: at most 32 labels (got 33)"],
    ["a 64-character key", { ["k".repeat(64)]: "v" }, undefined],
    ["a 65-character key", { ["k".repeat(65)]: "v" }, "labels: key"],
    ["an empty key", { "": "v" }, 'labels: key "" must match'],
    ["a key with a space", { "a b": "v" }, 'labels: key "a b" must match'],
    ["a key with =", { "a=b": "v" }, "must match"],
    ["a 256-character value", { k: "v".repeat(256) }, undefined],
    ["a 257-character value", { k: "v".repeat(257) }, "labels[k]: longer than 256 characters"],
    ["a value with a newline", { k: "a\nb" }, "labels[k]: must not contain control characters"],
    ["a non-string value", { k: 5 as unknown as string }, "labels[k]: must be a string"],
  ])("%s", (_name, labels, want) => {
    const got = validateLabels(labels);
    if (want === undefined) expect(got).toBeUndefined();
    else expect(got).toContain(want);
  });
});
