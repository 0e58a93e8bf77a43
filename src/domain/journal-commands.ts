import type { AlertCommand } from "./alerts.js";

/**
 * Operator commands in a partition's journal (docs/adr/0016-alerts.md): the AlertService publishes
 * them to `shoal.readings.<p>.command`, beside the bridge's reading batches, so the device actor
 * applies them in journal order with its readings, exactly once, and a crash replays them.
 *
 * Wire form: a protobuf message with a single field 14 (wire type 2) holding the command as JSON
 * (shoal.v1.JournalCommand). A reading batch starts with field 15 and a single Reading with fields
 * 1-6, so the first byte tells them apart.
 */

/** First byte of a journal command: field 14, wire type 2. */
export const JOURNAL_COMMAND_TAG = 0x72;

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

/** The journal message of an alert command. */
export function encodeJournalCommand(cmd: AlertCommand): Uint8Array {
  const json = enc.encode(JSON.stringify(cmd));
  const head: number[] = [JOURNAL_COMMAND_TAG];
  for (let v = json.length; ; v >>>= 7) {
    if (v < 0x80) {
      head.push(v);
      break;
    }
    head.push((v & 0x7f) | 0x80);
  }
  const out = new Uint8Array(head.length + json.length);
  out.set(head, 0);
  out.set(json, head.length);
  return out;
}

/**
 * True when the message bytes[start, end) begins a journal command (not readings). An empty
 * message is not one: in a packed batch bytes[start] would be the next message's first byte.
 */
export function isJournalCommand(bytes: Uint8Array, start: number, end: number = bytes.length): boolean {
  return start < end && bytes[start] === JOURNAL_COMMAND_TAG;
}

/** The alert command of a journal message (bytes[start, end)); throws RangeError on anything else. */
export function decodeJournalCommand(bytes: Uint8Array, start: number, end: number): AlertCommand {
  if (bytes[start] !== JOURNAL_COMMAND_TAG) throw new RangeError("not a journal command");
  let pos = start + 1;
  let len = 0;
  for (let shift = 0; ; shift += 7) {
    if (pos >= end || shift > 28) throw new RangeError("truncated journal command length");
    const b = bytes[pos++]!;
    len |= (b & 0x7f) << shift;
    if (b < 0x80) break;
  }
  if (pos + len !== end) throw new RangeError(`journal command of ${end - pos} bytes declares ${len}`);
  const v = JSON.parse(dec.decode(bytes.subarray(pos, end))) as Partial<AlertCommand>;
  const str = (k: keyof AlertCommand) => {
    if (typeof v[k] !== "string") throw new RangeError(`journal command: ${k} must be a string`);
  };
  if (v.type !== "alert-command") throw new RangeError(`journal command: unknown type ${JSON.stringify(v.type)}`);
  if (v.op !== "acknowledge" && v.op !== "resolve") throw new RangeError(`journal command: unknown op ${JSON.stringify(v.op)}`);
  for (const k of ["alertId", "deviceId", "by", "reason", "commandId"] as const) str(k);
  if (!Number.isSafeInteger(v.atMs)) throw new RangeError("journal command: atMs must be an integer");
  return { type: "alert-command", op: v.op, alertId: v.alertId!, deviceId: v.deviceId!, by: v.by!, reason: v.reason!, commandId: v.commandId!, atMs: v.atMs! };
}
