import { fromBinary, toBinary } from "@bufbuild/protobuf";
import type { DescMessage, DescService, MessageShape } from "@bufbuild/protobuf";
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";
import { tolerantDeserializer } from "./malformed-request.js";

/** Per-method (de)serializers replacing protobuf-es for hot methods (same wire format), keyed by method name. */
export type CodecOverrides = Record<string, Pick<MethodDefinition<unknown, unknown>, "requestSerialize" | "requestDeserialize" | "responseSerialize" | "responseDeserialize">>;

/**
 * A @grpc/grpc-js service definition built from a protobuf-es service descriptor: the generated
 * code stays protobuf-es only and grpc-js (de)serialises with toBinary/fromBinary. Works for
 * servers (`server.addService`, of a server from `createGrpcServer`) and clients
 * (`makeGenericClientConstructor`). Unary and server-streaming methods.
 */
export function grpcServiceDefinition(service: DescService, overrides: CodecOverrides = {}): ServiceDefinition {
  const def: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const m of service.methods) {
    if (m.methodKind !== "unary" && m.methodKind !== "server_streaming") throw new Error(`${service.typeName}.${m.name}: only unary and server-streaming methods are supported`);
    const codec = overrides[m.name] ?? {
      requestSerialize: serializer(m.input),
      requestDeserialize: deserializer(m.input),
      responseSerialize: serializer(m.output),
      responseDeserialize: deserializer(m.output),
    };
    // A request that cannot be read becomes a MalformedRequest (INVALID_ARGUMENT), not a throw (INTERNAL).
    const requestDeserialize = tolerantDeserializer(m.input.typeName, codec.requestDeserialize);
    def[m.name] = { path: `/${service.typeName}/${m.name}`, requestStream: false, responseStream: m.methodKind === "server_streaming", originalName: m.localName, ...codec, requestDeserialize };
  }
  return def as ServiceDefinition;
}

function serializer<D extends DescMessage>(desc: D) {
  return (msg: unknown) => Buffer.from(toBinary(desc, msg as MessageShape<D>));
}

function deserializer<D extends DescMessage>(desc: D) {
  return (buf: Buffer) => fromBinary(desc, buf);
}
