import { describe, expect, it } from "vitest";
import type { AlertCommand } from "./alerts.js";
import { decodeJournalCommand, encodeJournalCommand, isJournalCommand } from "./journal-commands.js";
import { journalEnvelopes } from "../runtime/journal-batch.js";
import { journalEnvelope } from "./journal-envelopes.js";
import { encodeReadingBatchWire, encodeReadingWire } from "./reading-wire-write.js";

const cmd: AlertCommand = { type: "alert-command", op: "acknowledge", alertId: "pump-1/anomaly/3", deviceId: "pump-1", by: "ana", reason: "looking ✓", commandId: "c-1", atMs: 1_700_000_000_000 };

describe("journal commands", () => {
  it("round-trip through the journal decoder as a message for the device actor, with the stream sequence", () => {
    const bytes = encodeJournalCommand(cmd);
    expect(isJournalCommand(bytes, 0)).toBe(true);
    expect(decodeJournalCommand(bytes, 0, bytes.length)).toEqual(cmd);
    expect(journalEnvelopes(journalEnvelope, bytes, 42, 7)).toEqual([{ actorType: "device", actorId: "pump-1", partition: 7, streamSeq: 42, msg: cmd }]);
  });

  it("a long command (multi-byte length) decodes", () => {
    const long = { ...cmd, reason: "x".repeat(5000) };
    const bytes = encodeJournalCommand(long);
    expect(decodeJournalCommand(bytes, 0, bytes.length).reason).toHaveLength(5000);
  });

  it("reading batches are not commands", () => {
    const batch = encodeReadingBatchWire([encodeReadingWire({ deviceId: "d", seq: 1, tsMs: 1, metrics: { t: 1 } })]);
    expect(isJournalCommand(batch, 0)).toBe(false);
    expect(journalEnvelopes(journalEnvelope, batch, 1, 0)[0]!.msg.type).toBe("reading");
  });

  it.each([
    ["truncated", (b: Uint8Array) => b.subarray(0, b.length - 1), /declares/],
    ["not JSON", () => Uint8Array.of(0x72, 2, 0x7b, 0x7b), /JSON/],
    ["unknown op", () => encodeJournalCommand({ ...cmd, op: "delete" as "resolve" }), /unknown op/],
    ["no alert id", () => encodeJournalCommand({ ...cmd, alertId: 5 as unknown as string }), /alertId must be a string/],
  ])("a corrupt command (%s) throws, so the runtime dead-letters the journal message", (_name, make, msg) => {
    const b = make(encodeJournalCommand(cmd));
    expect(() => decodeJournalCommand(b, 0, b.length)).toThrow(msg);
  });
});
