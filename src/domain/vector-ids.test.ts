import { describe, expect, it } from "vitest";
import { isUuid, uuidV5, vectorId } from "./vector-ids.js";

const DNS_NAMESPACE = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";

describe("uuidV5", () => {
  it("matches the published version 5 example (DNS namespace, www.example.com)", () => {
    expect(uuidV5(DNS_NAMESPACE, "www.example.com")).toBe("2ed6657d-e927-568b-95e1-2665a8aea6a2");
  });
  it("rejects a namespace that is not a UUID", () => {
    expect(() => uuidV5("not-a-uuid", "x")).toThrow(/namespace/);
  });
});

describe("vectorId", () => {
  it("is an RFC 4122 version 5 UUID", () => {
    const id = vectorId("anomaly_window", "pump-17", 3, 42, "temperature");
    expect(isUuid(id)).toBe(true);
    expect(id[14]).toBe("5");
    expect("89ab").toContain(id[19]);
  });
  it("is deterministic and pinned (ids are persisted: the namespace and encoding never change)", () => {
    expect(vectorId("anomaly_window", "pump-17", 3, 42, "temperature")).toBe(vectorId("anomaly_window", "pump-17", 3, 42, "temperature"));
    expect(vectorId("anomaly_window", "pump-17", 3, 42, "temperature")).toBe("4c506b4e-9897-55ac-b400-7a17afd17e91");
  });
  it("keeps parts apart: no separator ambiguity, numbers differ from strings", () => {
    expect(vectorId("a/b", "c")).not.toBe(vectorId("a", "b/c"));
    expect(vectorId("a", "b")).not.toBe(vectorId("a,b"));
    expect(vectorId("x", 3)).not.toBe(vectorId("x", "3"));
    expect(vectorId("x", 0)).toBe(vectorId("x", -0));
  });
  it("accepts any device id text, including quotes and non-ASCII", () => {
    expect(isUuid(vectorId("d'; DROP TABLE x; --", "ü\"\\"))).toBe(true);
  });
  it("rejects non-finite numbers and no parts", () => {
    expect(() => vectorId("x", Number.NaN)).toThrow(/finite/);
    expect(() => vectorId("x", Number.POSITIVE_INFINITY)).toThrow(/finite/);
    expect(() => vectorId()).toThrow(/at least one/);
  });
});
