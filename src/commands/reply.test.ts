import { describe, expect, it } from "vitest";
import { MAX_REPLY_BYTES, MAX_REPLY_DEPTH, parseReply } from "./index.js";

const id = "mk3x9a0b1-0123456789ab";
const bytes = (s: string) => new TextEncoder().encode(s);
/** `{"ok":true,"r":[[…[]…]]}` with `depth` levels in all. */
const nested = (depth: number) => bytes(`{"ok":true,"r":${"[".repeat(depth - 1)}${"]".repeat(depth - 1)}}`);

describe("parseReply: deeply nested replies", () => {
  it("a reply nested as deep as fits in 16 KiB fails as malformed instead of throwing", () => {
    // Found by the ingest fuzzer (test/fuzz): JSON.stringify ran out of stack past ~4,000 levels and
    // the downlink left the reply unacknowledged, redelivered forever.
    const deepest = nested(8000);
    expect(deepest.byteLength).toBeLessThanOrEqual(MAX_REPLY_BYTES);
    expect(parseReply(id, deepest)).toEqual({ commandId: id, ok: false, replyJson: "", reason: `malformed reply: nested deeper than ${MAX_REPLY_DEPTH} levels` });
    expect(parseReply(id, nested(MAX_REPLY_DEPTH + 1))).toMatchObject({ ok: false, reason: expect.stringContaining("nested deeper") });
  });

  it("up to the limit a reply is read as before; brackets inside strings do not count", () => {
    expect(parseReply(id, nested(MAX_REPLY_DEPTH))).toMatchObject({ commandId: id, ok: true, reason: "" });
    const text = `{"ok":false,"error":"${"[{".repeat(500)}\\"]"}`;
    expect(parseReply(id, bytes(text))).toMatchObject({ ok: false, reason: `${"[{".repeat(500)}"]` });
  });
});

describe("parseReply: a failed reply always has a reason", () => {
  it("an error of blanks is no reason (found by the ingest fuzzer)", () => {
    expect(parseReply(id, bytes('{"ok":false,"error":" "}'))).toMatchObject({ ok: false, reason: "the device reported a failure" });
    expect(parseReply(id, bytes('{"ok":false,"error":"\\n\\t"}'))).toMatchObject({ ok: false, reason: "the device reported a failure" });
    expect(parseReply(id, bytes('{"ok":false,"error":" busy "}'))).toMatchObject({ ok: false, reason: " busy " });
  });
});
