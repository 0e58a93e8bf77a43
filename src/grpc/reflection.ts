import { toBinary } from "@bufbuild/protobuf";
import type { DescFile } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { Server } from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";

/**
 * Adds gRPC server reflection (v1 and v1alpha) describing `serviceName` from the protobuf-es
 * descriptors `files` (the generated `file_*` exports; dependencies are found through them), and
 * the services in `more` served on the same server (one reflection service per server).
 */
export function addReflection(server: Server, serviceName: string, files: readonly DescFile[], more: ReadonlyArray<{ readonly name: string; readonly files: readonly DescFile[] }> = []): void {
  // @grpc/reflection reads a proto-loader-shaped package definition: give it our descriptors.
  const entry = (fs: readonly DescFile[]) => ({ format: "Protocol Buffer 3 DescriptorProto", type: {}, fileDescriptorProtos: fs.map((f) => Buffer.from(toBinary(FileDescriptorProtoSchema, f.proto))) });
  const pkg = Object.fromEntries([[serviceName, entry(files)], ...more.map((m) => [m.name, entry(m.files)] as const)]) as never;
  new ReflectionService(pkg).addToServer(server);
}
