import type * as grpc from "@grpc/grpc-js";
import type { DescFile } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { DeviceCommandService, file_shoal_v1_command } from "../gen/shoal/v1/command_pb.js";
import { grpcServiceDefinition } from "../grpc/index.js";
import { grpcHandlersOf, type CallPolicy } from "../grpc/connect-on-grpc.js";

/** Fully-qualified name of the command service (its health-check and reflection name). */
export const COMMAND_SERVICE_NAME = DeviceCommandService.typeName;

/** The descriptors reflection needs to describe the command service (dependencies are found through them). */
export const COMMAND_SERVICE_FILES: readonly DescFile[] = [file_shoal_v1_command];

/**
 * Register shoal.v1.DeviceCommandService, from the Connect implementation `impl`, on an existing
 * grpc-js server (the query role's, beside the device service) with the call policy's limits and
 * access check. Health and reflection are the server owner's: add {@link COMMAND_SERVICE_NAME} and
 * {@link COMMAND_SERVICE_FILES} to them. On the HTTP port the same `impl` is served with
 * `webService(DeviceCommandService, impl)` of src/grpc/web-server.ts.
 */
export function addCommandService(server: grpc.Server, impl: ServiceImpl<typeof DeviceCommandService>, policy: CallPolicy): void {
  server.addService(grpcServiceDefinition(DeviceCommandService), grpcHandlersOf(DeviceCommandService, impl, policy));
}
