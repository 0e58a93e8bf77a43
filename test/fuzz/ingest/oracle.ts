import { COMMAND_ID_RE, deviceOfReplyTopic, parseReply } from "../../../src/commands/index.js";
import { decodeJournalReading, decodeReadings, deviceIdFromTopic, encodeReading, type DecodeManyResult } from "../../../src/domain/reading-codec.js";
import type { Reading } from "../../../src/ports/reading.js";
import { PROFILES, type IngestInput, type Profile } from "./contract.js";
import { looksLikeJson, readingProblem, referenceJson, referenceProto, syntaxCode, TOPIC_RE, validAll } from "./reference.js";

/**
 * What the ingest fuzzers check of every input, written from the contract (docs/input-contract.md
 * and the invariants of src/ports/reading.ts), not from the codec:
 * - nothing throws; the same input gives the same answer twice;
 * - the topic is accepted exactly when it is `devices/<[A-Za-z0-9_-]{1,128}>/readings`;
 * - a rejection has a code of the contract's list and a non-empty reason; a payload over the size
 *   limit is `oversized`, an empty one `malformed_protobuf`, one that starts with '{' but is not
 *   UTF-8 JSON `malformed_json` (the contract's first checks, in their order);
 * - accepted readings keep every invariant (the topic's device, safe integers, tsMs in range and
 *   in the time window, 1 to maxMetrics finite metrics with valid names, log length and valid
 *   Unicode, 1 to maxBatchReadings readings) and come back equal from the journal's codec;
 * - a JSON payload is accepted exactly when a reference reading of the contract accepts it, with
 *   the same readings; a protobuf payload the codec accepts is one protobuf-es decodes to the same
 *   readings (the codec may be stricter: unknown fields, wire types protobuf-es reinterprets).
 */

/** The rejection codes of the contract (docs/input-contract.md "Rejection codes"), bridge stage. */
export const CODES = new Set(["invalid_topic", "unknown_device", "device_disabled", "oversized", "malformed_json", "malformed_protobuf", "unknown_field", "topic_mismatch", "invalid_field"]);

/** The outcome of one input, for the tables. */
export type Outcome = { readonly accepted: true; readonly readings: number } | { readonly accepted: false; readonly code: string; readonly reasonLength: number };

/** An input's outcome and every broken property (empty: all hold). */
export interface Checked {
  readonly outcome: Outcome | undefined;
  readonly violations: string[];
  /** The codec rejected a protobuf payload protobuf-es would take as valid readings (allowed; counted). */
  readonly stricterThanProtobufEs: boolean;
}
/**
 * A device's reply to a command (src/commands/reply.ts, what the bridge's downlink reads): never
 * throws (a throw is retried by the downlink forever, the reply never acknowledged); a failed
 * reply has a reason; a command id is one of Shoal's or none.
 */
export function checkReply(input: IngestInput): Checked {
  const violations: string[] = [];
  if (deviceOfReplyTopic(input.topic) === undefined) violations.push(`reply topic ${JSON.stringify(input.topic)} not read as a device's reply topic`);
  let p: ReturnType<typeof parseReply>;
  try {
    p = parseReply(input.reply?.correlation ?? undefined, input.payload);
  } catch (e) {
    return { outcome: undefined, violations: [...violations, `parseReply threw: ${(e as Error)?.stack?.split("\n").slice(0, 3).join(" ") ?? String(e)}`], stricterThanProtobufEs: false };
  }
  if (p.commandId !== undefined && !COMMAND_ID_RE.test(p.commandId)) violations.push(`command id ${JSON.stringify(p.commandId)} is not a command id`);
  if (p.ok && p.reason !== "") violations.push("an ok reply with a reason");
  if (!p.ok && p.reason.trim() === "") violations.push("a failed reply without a reason");
  if (p.ok && (JSON.parse(p.replyJson) as { ok?: unknown }).ok !== true) violations.push("an ok reply whose stored JSON does not say ok");
  const code = p.ok ? "" : p.reason.startsWith("malformed reply") ? "reply_malformed" : "reply_failed";
  return { outcome: p.ok ? { accepted: true, readings: 0 } : { accepted: false, code, reasonLength: p.reason.length }, violations, stricterThanProtobufEs: false };
}

/** Runs the topic check and the codec on `input` and checks every property above. */
export function checkInput(input: IngestInput): Checked {
  if (input.reply !== undefined) return checkReply(input);
  const violations: string[] = [];
  const p = PROFILES[input.profile]!;
  let topic: ReturnType<typeof deviceIdFromTopic>;
  try {
    topic = deviceIdFromTopic(input.topic);
  } catch (e) {
    return { outcome: undefined, violations: [`deviceIdFromTopic threw: ${(e as Error)?.stack ?? String(e)}`], stricterThanProtobufEs: false };
  }
  const want = TOPIC_RE.exec(input.topic);
  if (topic.ok !== (want !== null)) violations.push(`topic ${JSON.stringify(input.topic.slice(0, 200))}: ${topic.ok ? "accepted" : "rejected"}, the contract says ${want ? "accept" : "reject"}`);
  if (!topic.ok) {
    checkRejection(topic, violations);
    if (topic.code !== "invalid_topic") violations.push(`topic rejected with code ${topic.code}, not invalid_topic`);
    return { outcome: { accepted: false, code: topic.code, reasonLength: topic.reason.length }, violations, stricterThanProtobufEs: false };
  }
  if (want && topic.deviceId !== want[1]) violations.push(`topic device ${topic.deviceId} is not ${want[1]}`);
  const id = topic.deviceId;
  let d: DecodeManyResult;
  let again: DecodeManyResult;
  try {
    d = decodeReadings(input.payload, id, p.limits, p.nowMs);
    again = decodeReadings(input.payload, id, p.limits, p.nowMs);
  } catch (e) {
    return { outcome: undefined, violations: [...violations, `decodeReadings threw: ${(e as Error)?.stack ?? String(e)}`], stricterThanProtobufEs: false };
  }
  if (!sameResult(d, again)) violations.push("the same payload decoded twice gave two answers");
  let stricter = false;
  if (d.ok) checkReadings(d.readings, id, p, violations);
  else checkRejection(d, violations);
  const must = syntaxCode(input.payload, p);
  if (must !== undefined && (d.ok || d.code !== must)) violations.push(`the contract says ${must}, the codec ${d.ok ? "accepted" : `said ${d.code}: ${d.reason}`}`);
  if (looksLikeJson(input.payload)) {
    const ref = referenceJson(input.payload, id, p);
    if (ref === undefined ? d.ok : !d.ok) violations.push(`JSON: codec ${d.ok ? "accepted" : `rejected (${d.code}: ${d.reason})`}, the contract's reference ${ref ? "accepts" : "rejects"}`);
    else if (ref !== undefined && d.ok && !sameReadings(ref, d.readings)) violations.push(`JSON: accepted readings differ from the reference's: ${show(d.readings)} vs ${show(ref)}`);
  } else if (input.payload.length <= p.limits.maxPayloadBytes && input.payload.length > 0) {
    const ref = referenceProto(input.payload, id);
    if (d.ok) {
      if (ref === undefined) violations.push("protobuf: the codec accepted bytes protobuf-es rejects");
      else if (!sameReadings(ref.readings, d.readings)) violations.push(`protobuf: accepted readings differ from protobuf-es's: ${show(d.readings)} vs ${show(ref.readings)}`);
    } else if (ref !== undefined && !ref.unknown && validAll(ref.readings, id, p, ref.batch)) {
      stricter = true;
    }
  }
  return { outcome: d.ok ? { accepted: true, readings: d.readings.length } : { accepted: false, code: d.code, reasonLength: d.reason.length }, violations, stricterThanProtobufEs: stricter };
}

function checkRejection(r: { code: string; reason: string }, violations: string[]): void {
  if (!CODES.has(r.code)) violations.push(`rejection code ${JSON.stringify(r.code)} is not one of the contract's`);
  if (typeof r.reason !== "string" || r.reason.trim() === "") violations.push(`rejection ${r.code} has no reason`);
}

/** Every invariant an accepted reading must keep (src/ports/reading.ts, the contract), and the journal round trip. */
function checkReadings(rs: readonly Reading[], id: string, p: Profile, violations: string[]): void {
  const max = p.limits.maxBatchReadings ?? 1000;
  if (rs.length < 1 || rs.length > max) violations.push(`accepted ${rs.length} readings (1 to ${max} allowed)`);
  for (const [i, r] of rs.entries()) {
    const bad = readingProblem(r, id, p);
    if (bad !== undefined) {
      violations.push(`accepted reading ${i} breaks an invariant: ${bad}: ${show(r)}`);
      continue;
    }
    try {
      const back = decodeJournalReading(encodeReading(r));
      if (!sameReadings([back], [r])) violations.push(`reading ${i} changed through the journal codec: ${show(r)} -> ${show(back)}`);
    } catch (e) {
      violations.push(`reading ${i} does not survive the journal codec: ${(e as Error).message}: ${show(r)}`);
    }
  }
}

// ── comparison ────────────────────────────────────────────────────────────────────────────────

function sameReading(a: Reading, b: Reading): boolean {
  if (a.deviceId !== b.deviceId || !Object.is(a.seq, b.seq) || !Object.is(a.tsMs, b.tsMs) || a.log !== b.log || !Object.is(a.boot, b.boot)) return false;
  const ka = Object.keys(a.metrics);
  const kb = Object.keys(b.metrics);
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && Object.is(a.metrics[k], b.metrics[k]));
}

function sameReadings(a: readonly Reading[], b: readonly Reading[]): boolean {
  return a.length === b.length && a.every((r, i) => sameReading(r, b[i]!));
}

function sameResult(a: DecodeManyResult, b: DecodeManyResult): boolean {
  if (a.ok !== b.ok) return false;
  if (a.ok && b.ok) return sameReadings(a.readings, b.readings);
  return !a.ok && !b.ok && a.code === b.code && a.reason === b.reason;
}

/** A short printable form of readings (for violation messages). */
export function show(v: unknown): string {
  const s = JSON.stringify(v, (_, x: unknown) => (typeof x === "number" && !Number.isFinite(x) ? String(x) : Object.is(x, -0) ? "-0" : x));
  return s.length > 300 ? `${s.slice(0, 300)}…` : s;
}