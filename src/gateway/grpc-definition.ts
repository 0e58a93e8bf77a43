import { fromBinary, toBinary } from "@bufbuild/protobuf";
import type { DescMessage, DescService, MessageShape } from "@bufbuild/protobuf";
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";
import * as sc from "./score-codec.js";

/** Per-method (de)serializers replacing protobuf-es for hot methods (same wire format). */
export type CodecOverrides = Record<string, Pick<MethodDefinition<unknown, unknown>, "requestSerialize" | "requestDeserialize" | "responseSerialize" | "responseDeserialize">>;

/**
 * Score and ScoreBatch use the hand-written codec of score-codec.ts (plain port types on both
 * sides, ~20x cheaper than reflective protobuf-es for windows of doubles).
 */
export const scoreCodecs: CodecOverrides = {
  Score: {
    requestSerialize: (r) => sc.encodeScoreRequest(r as never),
    requestDeserialize: (b) => sc.decodeScoreRequest(b),
    responseSerialize: (r) => sc.encodeScoreResponse(r as never),
    responseDeserialize: (b) => sc.decodeScoreResponse(b),
  },
  ScoreBatch: {
    requestSerialize: (r) => sc.encodeScoreBatchRequest(r as never),
    requestDeserialize: (b) => sc.decodeScoreBatchRequest(b),
    responseSerialize: (r) => sc.encodeScoreBatchResponse(r as never),
    responseDeserialize: (b) => sc.decodeScoreBatchResponse(b),
  },
};

/**
 * A @grpc/grpc-js service definition built from a protobuf-es service descriptor: the generated
 * code stays protobuf-es only and grpc-js (de)serialises with toBinary/fromBinary.
 */
export function grpcServiceDefinition(service: DescService, overrides: CodecOverrides = {}): ServiceDefinition {
  const def: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const m of service.methods) {
    if (m.methodKind !== "unary") throw new Error(`${service.typeName}.${m.name}: only unary methods are supported`);
    const codec = overrides[m.name] ?? {
      requestSerialize: serializer(m.input),
      requestDeserialize: deserializer(m.input),
      responseSerialize: serializer(m.output),
      responseDeserialize: deserializer(m.output),
    };
    def[m.name] = { path: `/${service.typeName}/${m.name}`, requestStream: false, responseStream: false, originalName: m.localName, ...codec };
  }
  return def as ServiceDefinition;
}

function serializer<D extends DescMessage>(desc: D) {
  return (msg: unknown) => Buffer.from(toBinary(desc, msg as MessageShape<D>));
}

function deserializer<D extends DescMessage>(desc: D) {
  return (buf: Buffer) => fromBinary(desc, buf);
}
