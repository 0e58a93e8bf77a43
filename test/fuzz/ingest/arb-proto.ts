import fc from "fast-check";
import { MAX_TS_MS } from "../../../src/domain/reading-codec.js";
import { PROFILES, type IngestInput } from "./contract.js";
import { double, msg, str, uint, writeFields, type WireField } from "./pb-writer.js";
import { ANY_NAME, arbDeviceId, finite, safeUint, tsEdge, tsInWindow, VALID_NAME } from "./values.js";

/**
 * Protobuf payloads near the contract, written field by field (./pb-writer.ts): shoal.v1.Reading
 * and ReadingBatch with wrong wire types, out-of-range varints, unknown and group fields, invalid
 * UTF-8, lengths that lie, NaN and ±Infinity metrics, other devices' ids, then maybe truncated.
 */

const BAD_UTF8 = [Uint8Array.of(0xff), Uint8Array.of(0xc0, 0x80), Uint8Array.of(0xed, 0xa0, 0x80), Uint8Array.of(0x61, 0xe2, 0x82)];

/** A field of shoal.v1.Reading, valid or not. */
const arbBadField: fc.Arbitrary<WireField> = fc.oneof(
  // wrong wire types of known fields
  fc.record({ no: fc.integer({ min: 1, max: 6 }), kind: fc.constant("bytes" as const), bytes: fc.uint8Array({ maxLength: 12 }) }),
  fc.record({ no: fc.constantFrom(1, 4, 5), kind: fc.constant("varint" as const), value: fc.bigInt({ min: 0n, max: 1000n }) }),
  fc.record({ no: fc.integer({ min: 1, max: 6 }), kind: fc.constant("fixed64" as const), bytes: fc.uint8Array({ minLength: 8, maxLength: 8 }) }),
  fc.record({ no: fc.integer({ min: 1, max: 6 }), kind: fc.constant("fixed32" as const), bytes: fc.uint8Array({ minLength: 4, maxLength: 4 }) }),
  // out-of-range integers: above 2^53 - 1, 2^64 - 1, negative (10-byte varints)
  fc.record({ no: fc.constantFrom(2, 3, 6), kind: fc.constant("varint" as const), value: fc.constantFrom(2n ** 53n - 1n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n, -1n, -(2n ** 63n), BigInt(MAX_TS_MS), BigInt(MAX_TS_MS) + 1n, 0n) }),
  // unknown fields, field 15 (a batch's) inside a reading, huge field numbers, groups
  fc.record({ no: fc.constantFrom(7, 8, 14, 15, 16, 100, 2 ** 29 - 1), kind: fc.constant("varint" as const), value: fc.bigInt({ min: 0n, max: 10n }) }),
  fc.record({ no: fc.constantFrom(7, 15, 536870911), kind: fc.constant("bytes" as const), bytes: fc.uint8Array({ maxLength: 8 }) }),
  fc.record({ no: fc.constantFrom(1, 4, 7, 9), kind: fc.constant("group" as const), fields: fc.constant([uint(1, 1)]) }),
  // strings of invalid UTF-8
  fc.record({ no: fc.constantFrom(1, 5), kind: fc.constant("bytes" as const), bytes: fc.constantFrom(...BAD_UTF8) }),
  // lengths that lie
  fc.record({ no: fc.constantFrom(1, 4, 5), kind: fc.constant("bytes" as const), bytes: fc.uint8Array({ maxLength: 6 }), lengthDelta: fc.constantFrom(-1, 1, 2, 100, 2 ** 31) }),
  // field number 0, an over-long tag, a bare tag
  fc.constantFrom<WireField>({ kind: "raw", bytes: Uint8Array.of(0x00, 0x01) }, { kind: "raw", bytes: Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x10) }, { kind: "raw", bytes: Uint8Array.of(0x10) }, { kind: "raw", bytes: Uint8Array.of(0x07) }),
);

/** A metrics map entry, valid or not (NaN, ±Infinity, -0, odd names, extra or missing parts). */
const arbMetricEntry: fc.Arbitrary<WireField> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(VALID_NAME, finite).map(([k, v]) => msg(4, [str(1, k), { no: 2, kind: "fixed64", bytes: double(v) }])) },
  { weight: 2, arbitrary: fc.tuple(ANY_NAME, fc.oneof(finite, fc.constantFrom(NaN, Infinity, -Infinity, -0))).map(([k, v]) => msg(4, [str(1, k), { no: 2, kind: "fixed64", bytes: double(v) }])) },
  { weight: 1, arbitrary: VALID_NAME.map((k) => msg(4, [str(1, k)])) },
  { weight: 1, arbitrary: finite.map((v) => msg(4, [{ no: 2, kind: "fixed64", bytes: double(v) }])) },
  { weight: 1, arbitrary: fc.tuple(VALID_NAME, arbBadField).map(([k, f]) => msg(4, [str(1, k), { no: 2, kind: "fixed64", bytes: double(1) }, f])) },
);

/** A Reading's fields (device id `id`, or empty, or another one), then maybe some bad fields. */
const arbReadingFields = (id: string, inBatch: boolean): fc.Arbitrary<WireField[]> =>
  fc
    .record({
      device: inBatch ? fc.oneof(fc.constant(""), fc.constant(id), arbDeviceId) : fc.oneof({ weight: 8, arbitrary: fc.constant(id) }, { weight: 1, arbitrary: fc.constant("") }, { weight: 1, arbitrary: arbDeviceId }),
      seq: fc.option(safeUint, { nil: undefined }),
      ts: fc.oneof({ weight: 8, arbitrary: tsInWindow }, { weight: 1, arbitrary: tsEdge }),
      metrics: fc.oneof({ weight: 3, arbitrary: fc.array(arbMetricEntry, { minLength: 1, maxLength: 6 }) }, { weight: 1, arbitrary: fc.array(arbMetricEntry, { maxLength: 6 }) }),
      log: fc.option(fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: "binary", maxLength: 20 }), fc.constantFrom("l".repeat(16), "l".repeat(17), "\ud800")), { nil: undefined }),
      boot: fc.option(safeUint, { nil: undefined }),
      bad: fc.oneof({ weight: 4, arbitrary: fc.constant([] as WireField[]) }, { weight: 1, arbitrary: fc.array(arbBadField, { minLength: 1, maxLength: 2 }) }),
      shuffle: fc.boolean(),
    })
    .map((r) => {
      const f: WireField[] = [];
      if (r.device !== "") f.push(str(1, r.device));
      if (r.seq !== undefined && r.seq !== 0) f.push(uint(2, r.seq));
      if (r.ts !== 0) f.push(uint(3, r.ts));
      f.push(...r.metrics);
      if (r.log !== undefined) f.push(str(5, r.log));
      if (r.boot !== undefined) f.push(uint(6, r.boot));
      for (const b of r.bad) f.splice(r.shuffle ? 0 : f.length, 0, b);
      if (r.shuffle) f.reverse();
      return f;
    });

/** Near-valid protobuf payloads (a Reading or a ReadingBatch) on the device's own topic. */
export const arbProtoInput: fc.Arbitrary<IngestInput> = fc
  .tuple(arbDeviceId, fc.nat({ max: PROFILES.length - 1 }))
  .chain(([id, profile]) =>
    fc
      .tuple(
        fc.oneof(
          { weight: 3, arbitrary: arbReadingFields(id, false).map(writeFields) },
          {
            weight: 2,
            arbitrary: fc
              .tuple(fc.array(arbReadingFields(id, true), { minLength: 0, maxLength: 5 }), fc.option(arbBadField, { nil: undefined }))
              .map(([rs, bad]) => writeFields([...rs.map((r) => msg(15, r)), ...(bad ? [bad] : [])])),
          },
        ),
        fc.oneof({ weight: 5, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.nat() }),
      )
      .map(([bytes, cut]): IngestInput => ({ topic: `devices/${id}/readings`, payload: cut < 0 || bytes.length === 0 ? bytes : bytes.subarray(0, cut % bytes.length), profile })),
  );
