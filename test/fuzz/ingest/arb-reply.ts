import fc from "fast-check";
import type { IngestInput } from "./contract.js";
import { applyTextOp, arbDeviceId, arbNasty, arbTextOp, jsonText } from "./values.js";

/** Command ids: Shoal's form, near misses, anything. */
const arbCommandId = fc.oneof(
  fc.tuple(fc.stringMatching(/^[0-9a-z]{9}$/), fc.stringMatching(/^[0-9a-f]{12}$/)).map(([a, b]) => `${a}-${b}`),
  fc.constantFrom("", "x", "mk3x9a0b1-0123456789ab ", "MK3X9A0B1-0123456789AB", "\u0000"),
  fc.string({ maxLength: 30 }),
);

/** A device's reply to a command on its reply topic: JSON objects near `{"ok": …, "error": …}`, odd values, deep nesting, bad text. */
export const arbReplyInput: fc.Arbitrary<IngestInput> = fc
  .tuple(
    arbDeviceId,
    fc.option(arbCommandId, { nil: null }),
    fc.oneof(
      {
        weight: 6,
        arbitrary: fc
          .record({ ok: fc.oneof(fc.boolean(), arbNasty), error: fc.oneof(fc.string({ maxLength: 40 }), arbNasty), commandId: arbCommandId, result: fc.oneof(fc.jsonValue({ maxDepth: 3 }), arbNasty) }, { requiredKeys: [] })
          .map((o) => o as unknown),
      },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
      { weight: 1, arbitrary: arbNasty },
    ),
    arbTextOp,
  )
  .map(([id, correlation, value, op]): IngestInput => ({ topic: `devices/${id}/commands/reply`, payload: applyTextOp(jsonText(value), op), profile: 0, reply: { correlation } }));
