/** MQTT payloads of simulated readings: one reading (JSON or protobuf) or a JSON batch of a flushed backlog. */
import { create, toBinary } from "@bufbuild/protobuf";
import { ReadingSchema } from "../gen/shoal/v1/reading_pb.js";
import type { FleetReading, MeasureResult } from "./fleet.js";

/** Payload encoding: "mixed" sends even ordinals as protobuf, odd ones as JSON. */
export type PayloadFormat = "json" | "protobuf" | "mixed";

/** One MQTT publish and the readings it carries. */
export interface Outgoing {
  readonly payload: string | Buffer;
  readonly readings: readonly FleetReading[];
}

/** How payloads are built. */
export interface PayloadOptions {
  readonly format: PayloadFormat;
  /** Send a flushed backlog as JSON batch payloads. */
  readonly flushAsBatch: boolean;
  /** Most readings per batch payload. Default 500. */
  readonly batchMaxReadings?: number;
  /** Most bytes per batch payload (the bridge's default maxPayload is 16 KiB). Default 16384. */
  readonly batchMaxBytes?: number;
}

/** The JSON of one reading: `{deviceId, seq?, boot?, tsMs, metrics}` (no seq without counter, no boot without boot number). */
export function jsonReading(deviceId: string, r: FleetReading): string {
  return JSON.stringify({ deviceId, seq: r.seq, boot: r.boot, tsMs: r.tsMs, metrics: r.metrics });
}

/** The shoal.v1.Reading of one reading (seq 0 without counter; boot set only when the device has one). */
export function protoReading(deviceId: string, r: FleetReading): Buffer {
  const base = { deviceId, seq: BigInt(r.seq ?? 0), tsMs: BigInt(r.tsMs), metrics: r.metrics };
  return Buffer.from(toBinary(ReadingSchema, create(ReadingSchema, r.boot === undefined ? base : { ...base, boot: BigInt(r.boot) })));
}

/** One reading's payload in `format`. */
export function readingPayload(deviceId: string, r: FleetReading, format: PayloadFormat): string | Buffer {
  const proto = format === "protobuf" || (format === "mixed" && r.ordinal % 2 === 0);
  return proto ? protoReading(deviceId, r) : jsonReading(deviceId, r);
}

/**
 * JSON batch payloads `{"deviceId", "readings": [{seq?, boot?, tsMs, metrics}, …]}` of `readings`
 * in order, each with at most `maxReadings` readings and, unless a single reading is larger, at most
 * `maxBytes` bytes.
 */
export function batchPayloads(deviceId: string, readings: readonly FleetReading[], maxReadings = 500, maxBytes = 16384): Outgoing[] {
  const head = `{"deviceId":${JSON.stringify(deviceId)},"readings":[`;
  const tail = "]}";
  const out: Outgoing[] = [];
  let items: string[] = [];
  let chunk: FleetReading[] = [];
  let bytes = head.length + tail.length;
  const close = () => {
    if (chunk.length > 0) out.push({ payload: head + items.join(",") + tail, readings: chunk });
    items = [];
    chunk = [];
    bytes = head.length + tail.length;
  };
  for (const r of readings) {
    const item = JSON.stringify({ seq: r.seq, boot: r.boot, tsMs: r.tsMs, metrics: r.metrics });
    const len = Buffer.byteLength(item);
    if (chunk.length >= maxReadings || (chunk.length > 0 && bytes + 1 + len > maxBytes)) close();
    bytes += len + (chunk.length > 0 ? 1 : 0);
    items.push(item);
    chunk.push(r);
  }
  close();
  return out;
}

/** The publishes of one measurement: the flushed backlog (one per reading, or batches), then the live reading. */
export function payloadsFor(deviceId: string, m: Pick<MeasureResult, "flushed" | "live">, o: PayloadOptions): Outgoing[] {
  const out: Outgoing[] =
    o.flushAsBatch && m.flushed.length > 0
      ? batchPayloads(deviceId, m.flushed, o.batchMaxReadings, o.batchMaxBytes)
      : m.flushed.map((r) => ({ payload: readingPayload(deviceId, r, o.format), readings: [r] }));
  if (m.live !== undefined) out.push({ payload: readingPayload(deviceId, m.live, o.format), readings: [m.live] });
  return out;
}
