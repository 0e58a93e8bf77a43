import { toBinary } from "@bufbuild/protobuf";
import type { DescFile } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { Server } from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";

/**
 * Adds gRPC server reflection (v1 and v1alpha) describing `serviceName` from the protobuf-es
 * descriptors `files` (the generated `file_*` exports; dependencies are found through them).
 */
export function addReflection(server: Server, serviceName: string, files: readonly DescFile[]): void {
  // @grpc/reflection reads a proto-loader-shaped package definition: give it our descriptors.
  const fileDescriptorProtos = files.map((f) => Buffer.from(toBinary(FileDescriptorProtoSchema, f.proto)));
  const pkg = { [serviceName]: { format: "Protocol Buffer 3 DescriptorProto", type: {}, fileDescriptorProtos } } as never;
  new ReflectionService(pkg).addToServer(server);
}
