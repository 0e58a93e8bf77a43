import fc from "fast-check";
import { encodeReadingBatchWire, encodeReadingWire } from "../../../src/domain/reading-wire-write.js";
import type { Reading } from "../../../src/ports/reading.js";
import { NOW_MS, PROFILES, type IngestInput } from "./contract.js";
import { ANY_NAME, applyTextOp, arbDeviceId, arbNasty, arbTextOp, finite, jsonText, safeUint, tsEdge, tsInWindow, VALID_NAME } from "./values.js";

/**
 * JSON payloads near the contract: a valid reading or batch, then changed (fields set to wrong
 * values, deleted, both spellings of a field, too many metrics, long logs, another device), then
 * its text changed (./values.ts); and the valid payloads of both encodings the mutator starts from.
 */

const enc = new TextEncoder();

const FIELDS = ["deviceId", "device_id", "seq", "boot", "tsMs", "ts_ms", "metrics", "log", "readings"] as const;
const arbKey = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...FIELDS) }, { weight: 1, arbitrary: fc.constantFrom("firmware", "__proto__", "constructor", "DeviceId", "tsms", "") }, { weight: 1, arbitrary: fc.string({ maxLength: 10 }) });

/** One change to a JSON reading object. */
type JsonOp =
  | { op: "set"; key: string; value: unknown }
  | { op: "del"; key: string }
  | { op: "metric"; name: string; value: unknown }
  | { op: "metrics"; n: number }
  | { op: "ts"; value: number }
  | { op: "device"; id: string }
  | { op: "twin"; field: "deviceId" | "tsMs" }
  | { op: "log"; length: number };

const arbJsonOp: fc.Arbitrary<JsonOp> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant("set" as const), key: arbKey, value: arbNasty }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("del" as const), key: fc.constantFrom(...FIELDS) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("metric" as const), name: ANY_NAME, value: fc.oneof(finite, arbNasty) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("metrics" as const), n: fc.integer({ min: 0, max: 70 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("ts" as const), value: tsEdge }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("device" as const), id: arbDeviceId }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("twin" as const), field: fc.constantFrom("deviceId" as const, "tsMs" as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("log" as const), length: fc.constantFrom(15, 16, 17, 2047, 2048, 2049) }) },
);

function applyJsonOp(o: Record<string, unknown>, op: JsonOp): void {
  switch (op.op) {
    case "set":
      // defineProperty: an own "__proto__" key, as JSON.parse makes it.
      Object.defineProperty(o, op.key, { value: op.value, enumerable: true, configurable: true, writable: true });
      break;
    case "del":
      delete o[op.key];
      break;
    case "metric": {
      const m = o.metrics;
      const target = typeof m === "object" && m !== null && !Array.isArray(m) ? (m as Record<string, unknown>) : (o.metrics = {} as Record<string, unknown>);
      Object.defineProperty(target, op.name, { value: op.value, enumerable: true, configurable: true, writable: true });
      break;
    }
    case "metrics":
      o.metrics = Object.fromEntries(Array.from({ length: op.n }, (_, i) => [`m${i}`, i]));
      break;
    case "ts":
      o.tsMs = op.value;
      break;
    case "device":
      o.deviceId = op.id;
      break;
    case "twin":
      if (op.field === "deviceId") o.device_id = o.deviceId ?? "d";
      else o.ts_ms = o.tsMs ?? NOW_MS;
      break;
    case "log":
      o.log = "l".repeat(op.length);
      break;
  }
}

/** A valid JSON reading of device `id` (in a batch its deviceId may be left out). */
const arbReadingObject = (id: string, inBatch: boolean) =>
  fc
    .record(
      {
        deviceId: inBatch ? fc.constantFrom<string | undefined>(id, undefined) : fc.constant(id),
        seq: safeUint,
        boot: safeUint,
        tsMs: tsInWindow,
        metrics: fc.dictionary(VALID_NAME, finite, { minKeys: 1, maxKeys: 5 }),
        log: fc.string({ maxLength: 12 }),
      },
      { requiredKeys: ["tsMs", "metrics"] },
    )
    .map((r) => {
      const o: Record<string, unknown> = { ...r };
      if (o.deviceId === undefined) delete o.deviceId;
      if (!inBatch) o.deviceId = id;
      return o;
    });

/** A valid reading, or (3 in 4) one with up to three {@link JsonOp}s applied. */
const arbMutatedReading = (id: string, inBatch: boolean) =>
  fc.tuple(arbReadingObject(id, inBatch), fc.array(arbJsonOp, { maxLength: 3 }), fc.integer({ min: 0, max: 3 })).map(([o, ops, keep]) => {
    // keep 0: valid as generated; else apply the ops.
    if (keep !== 0) for (const op of ops) applyJsonOp(o, op);
    return o;
  });

/** A JSON batch: valid readings, changed ones or up to 1005 of them; a batch deviceId of any kind; maybe an extra key. */
const arbBatch = (id: string) =>
  fc
    .tuple(
      fc.oneof(
        { weight: 6, arbitrary: fc.array(arbReadingObject(id, true), { minLength: 1, maxLength: 5 }) },
        { weight: 3, arbitrary: fc.array(arbMutatedReading(id, true), { minLength: 0, maxLength: 5 }) },
        { weight: 1, arbitrary: fc.integer({ min: 1, max: 1005 }).map((n) => Array.from({ length: n }, (_, i) => ({ tsMs: NOW_MS - i, metrics: { a: i } }))) },
      ),
      fc.oneof(fc.constant<unknown>(undefined), fc.constant<unknown>(id), arbDeviceId, arbNasty),
      fc.array(fc.tuple(arbKey, arbNasty), { maxLength: 1 }),
    )
    .map(([readings, batchId, extra]) => {
      const o: Record<string, unknown> = batchId === undefined ? {} : { deviceId: batchId };
      o.readings = readings;
      for (const [k, v] of extra) Object.defineProperty(o, k, { value: v, enumerable: true, configurable: true, writable: true });
      return o;
    });
/** Near-valid JSON payloads on the device's own topic (the topic is not what is tested here). */
export const arbJsonInput: fc.Arbitrary<IngestInput> = fc
  .tuple(arbDeviceId, fc.nat({ max: PROFILES.length - 1 }))
  .chain(([id, profile]) =>
    fc
      .tuple(
        fc.oneof(
          { weight: 6, arbitrary: arbMutatedReading(id, false) as fc.Arbitrary<unknown> },
          { weight: 3, arbitrary: arbBatch(id) as fc.Arbitrary<unknown> },
          { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
        ),
        arbTextOp,
      )
      .map(([value, op]): IngestInput => ({ topic: `devices/${id}/readings`, payload: applyTextOp(jsonText(value), op), profile })),
  );

/** Valid payloads (JSON or protobuf, one reading or a batch) on their device's topic: the mutator's corpus. */
export const arbValidInput: fc.Arbitrary<IngestInput> = fc.tuple(arbDeviceId, fc.boolean(), fc.boolean()).chain(([id, json, batch]) =>
  fc.array(arbReadingObject(id, batch), { minLength: 1, maxLength: batch ? 4 : 1 }).map((objs): IngestInput => {
    const topic = `devices/${id}/readings`;
    if (json) return { topic, payload: enc.encode(JSON.stringify(batch ? { deviceId: id, readings: objs } : objs[0])), profile: 0 };
    const rs = objs.map((o) => ({ seq: 0, ...o, deviceId: id }) as unknown as Reading);
    return { topic, payload: batch ? encodeReadingBatchWire(rs.map(encodeReadingWire)) : encodeReadingWire(rs[0]!), profile: 0 };
  }),
);
