import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ListReadingsResponseSchema } from "../gen/shoal/v1/query_pb.js";
import { encodeListReadingsResponse, queryCodecs } from "./readings-codec.js";

const i64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const dbl = fc.oneof(fc.double(), fc.constantFrom(0, -0, 1, -1, Number.NaN, Infinity, -Infinity));
const point = fc.record({ tsMs: fc.oneof(i64, fc.constant(0n)), value: dbl, min: dbl, max: dbl, count: fc.oneof(u64, fc.constant(0n)), stddev: dbl, score: dbl, epoch: fc.oneof(u64, fc.constant(0n)), seq: fc.oneof(u64, fc.constant(0n)) });
const response = fc.record({ resolution: fc.integer({ min: 0, max: 3 }), bucketMs: fc.oneof(i64, fc.constant(0n)), points: fc.array(point, { maxLength: 40 }) });

describe("encodeListReadingsResponse", () => {
  it("writes the bytes protobuf-es writes, which decode to the same message", () => {
    fc.assert(
      fc.property(response, (init) => {
        const msg = create(ListReadingsResponseSchema, init);
        const mine = encodeListReadingsResponse(msg);
        // Decoded alike field by field (NaN and -0 included), and byte for byte.
        expect(fromBinary(ListReadingsResponseSchema, mine)).toStrictEqual(fromBinary(ListReadingsResponseSchema, toBinary(ListReadingsResponseSchema, msg)));
        expect(Buffer.from(mine).equals(Buffer.from(toBinary(ListReadingsResponseSchema, msg)))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("is what the gRPC definition serialises ListReadings' responses with", () => {
    const msg = create(ListReadingsResponseSchema, { resolution: 2, bucketMs: 2_640_000n, points: [{ tsMs: 1n, value: -0, count: 3n }] });
    const buf = queryCodecs.ListReadings!.responseSerialize(msg);
    expect(equals(ListReadingsResponseSchema, fromBinary(ListReadingsResponseSchema, buf), msg)).toBe(true);
  });
});
