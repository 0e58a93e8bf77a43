import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import type { CodecOverrides } from "../grpc/index.js";
import { ListReadingsRequestSchema, ListReadingsResponseSchema, type ListReadingsResponse } from "../gen/shoal/v1/query_pb.js";

/**
 * ListReadingsResponse to protobuf bytes by hand: the same wire format protobuf-es writes (fields
 * in number order, proto3 defaults omitted, -0 kept as protobuf-es does), ~15x faster for the ~1,000 points of a downsampled
 * series (bench:query: 0.29 ms vs 4.9 ms for 982 points), the largest response QueryService sends.
 * Exactness is checked by readings-codec.test.ts (decodes to the same message for random inputs).
 */
export function encodeListReadingsResponse(r: ListReadingsResponse): Uint8Array {
  const w = new BinaryWriter();
  if (r.resolution !== 0) w.tag(1, WireType.Varint).int32(r.resolution);
  if (r.bucketMs !== 0n) w.tag(2, WireType.Varint).int64(r.bucketMs);
  for (const p of r.points) {
    w.tag(3, WireType.LengthDelimited).fork();
    if (p.tsMs !== 0n) w.tag(1, WireType.Varint).int64(p.tsMs);
    if (!Object.is(p.value, 0)) w.tag(2, WireType.Bit64).double(p.value);
    if (!Object.is(p.min, 0)) w.tag(3, WireType.Bit64).double(p.min);
    if (!Object.is(p.max, 0)) w.tag(4, WireType.Bit64).double(p.max);
    if (p.count !== 0n) w.tag(5, WireType.Varint).uint64(p.count);
    if (!Object.is(p.stddev, 0)) w.tag(6, WireType.Bit64).double(p.stddev);
    if (!Object.is(p.score, 0)) w.tag(7, WireType.Bit64).double(p.score);
    if (p.epoch !== 0n) w.tag(8, WireType.Varint).uint64(p.epoch);
    if (p.seq !== 0n) w.tag(9, WireType.Varint).uint64(p.seq);
    w.join();
  }
  return w.finish();
}

/** QueryService's codec overrides for `grpcServiceDefinition`: ListReadings' response by {@link encodeListReadingsResponse}. */
export const queryCodecs: CodecOverrides = {
  ListReadings: {
    requestSerialize: (m: unknown) => Buffer.from(toBinary(ListReadingsRequestSchema, m as never)),
    requestDeserialize: (b: Buffer) => fromBinary(ListReadingsRequestSchema, b),
    responseSerialize: (m: unknown) => {
      const u = encodeListReadingsResponse(m as ListReadingsResponse);
      return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
    },
    responseDeserialize: (b: Buffer) => fromBinary(ListReadingsResponseSchema, b),
  },
};
