import { describe, expect, it } from "vitest";
import { deadLetterJson } from "../../domain/dead-letter.js";
import { deadLetterRow } from "./dead-letter-consumer.js";

const enc = new TextEncoder();

describe("deadLetterRow", () => {
  it("turns a DLQ message into a dead_letters row; UTF-8 payloads as text", () => {
    const msg = deadLetterJson({ stage: "bridge", code: "malformed_json", reason: "Unexpected token", source: "devices/p1/readings", payload: enc.encode('{"deviceId": "p1",') }, 1_700_000_000_123);
    expect(deadLetterRow(enc.encode(msg), 1, "shoal.dlq.bridge")).toEqual({ stage: "bridge", code: "malformed_json", reason: "Unexpected token", source: "devices/p1/readings", payload: '{"deviceId": "p1",', at_ms: 1_700_000_000_123 });
  });

  it("keeps binary payloads as base64 and says when the payload was cut", () => {
    const payload = new Uint8Array(5000).fill(0xff);
    const row = deadLetterRow(enc.encode(deadLetterJson({ stage: "bridge", code: "malformed_protobuf", reason: "bad wire type", source: "devices/p2/readings", payload }, 5)), 1, "shoal.dlq.bridge");
    expect(row.payload).toBe(`base64:${Buffer.from(payload.subarray(0, 4096)).toString("base64")}`);
    expect(row.reason).toBe("bad wire type (payload cut to 4096 of 5000 bytes)");
  });

  it("keeps a message that is not a dead letter whole, as code unreadable", () => {
    expect(deadLetterRow(enc.encode("not json"), 1234.4, "shoal.dlq.runtime")).toEqual({ stage: "runtime", code: "unreadable", reason: "the DLQ message is not a dead letter", source: "shoal.dlq.runtime", payload: "not json", at_ms: 1234 });
    expect(deadLetterRow(new Uint8Array([0xff]), 1, "shoal.dlq.x").payload).toBe("base64:/w==");
  });
});
