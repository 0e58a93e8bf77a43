import { describe, expect, it } from "vitest";
import { InvalidConfigPathError, documentPath, parseValue, redactedChanges, resolvedPath, setPath, valueAt } from "./document.js";

describe("config document edits", () => {
  it("documentPath maps resolved paths to the keys written in a layer and refuses paths that name no key", () => {
    expect(documentPath("runtime.snapshotEveryMs")).toBe("runtime.snapshotEvery");
    expect(documentPath("clickhouse.retention.keepMs.readings")).toBe("clickhouse.retention.readings");
    expect(documentPath("detector.threshold")).toBe("detector.threshold");
    expect(resolvedPath("nats.maxAge")).toBe("nats.maxAgeMs");
    for (const bad of ["", "a..b", ".a", "a.", "__proto__.polluted", "a.constructor.prototype"]) {
      expect(() => documentPath(bad)).toThrow(InvalidConfigPathError);
    }
    expect(() => documentPath("a..b")).toThrow('invalid path "a..b"');
  });

  it("parseValue of a value that starts like a YAML directive prints no warning (a request must not write to stderr)", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on("warning", onWarning);
    try {
      expect(parseValue("%s%s%n")).toBe("%s%s%n");
      expect(parseValue("%YAML 1.1\n--- 3")).toBe(3);
      // process.emitWarning delivers on a later tick.
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings).toEqual([]);
  });

  it("parseValue reads YAML, keeps unparsable text and secrets verbatim, and null always removes", () => {
    expect(parseValue("0.95")).toBe(0.95);
    expect(parseValue("[a, b]")).toEqual(["a", "b"]);
    expect(parseValue("{x: 1}")).toEqual({ x: 1 });
    expect(parseValue("a: b: c")).toBe("a: b: c");
    expect(parseValue("12345", true)).toBe("12345");
    expect(parseValue("null")).toBeNull();
    expect(parseValue(" null ", true)).toBeNull();
  });

  it("setPath creates mappings on the way; null removes the key and prunes what is left empty", () => {
    const doc: Record<string, unknown> = { detector: { threshold: 0.9 } };
    setPath(doc, "runtime.snapshotEveryMs", "45s");
    expect(doc).toEqual({ detector: { threshold: 0.9 }, runtime: { snapshotEvery: "45s" } });
    setPath(doc, "detector.threshold", null);
    expect(doc).toEqual({ runtime: { snapshotEvery: "45s" } });
    setPath(doc, "runtime", 3);
    setPath(doc, "runtime.workers", 2);
    expect(doc).toEqual({ runtime: { workers: 2 } });
    expect(({} as Record<string, unknown>).workers).toBeUndefined();
  });

  it("valueAt reads own keys only", () => {
    expect(valueAt({ a: { b: 1 } }, "a.b")).toBe(1);
    expect(valueAt({ a: { b: 1 } }, "a.c")).toBeUndefined();
    expect(valueAt({}, "constructor")).toBeUndefined();
  });

  it("redactedChanges lists a changed secret with both sides redacted, and credentials in URLs", () => {
    const before = { mqtt: { password: "old-s3cret" }, nats: { url: "nats://u:p1@h:4222" }, detector: { threshold: 0.9 } };
    const after = { mqtt: { password: "new-s3cret" }, nats: { url: "nats://u:p2@h:4222" }, detector: { windowSize: 8 } };
    const changes = redactedChanges(before, after);
    expect(changes).toEqual([
      { path: "detector.threshold", before: 0.9, after: undefined },
      { path: "detector.windowSize", before: undefined, after: 8 },
      { path: "mqtt.password", before: "[redacted]", after: "[redacted]" },
      { path: "nats.url", before: "nats://u:***@h:4222", after: "nats://u:***@h:4222" },
    ]);
    expect(JSON.stringify(changes)).not.toMatch(/s3cret|p1@|p2@/);
  });
});
