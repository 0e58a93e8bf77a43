import type * as grpc from "@grpc/grpc-js";
import type { DescFile } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { DeviceService, file_shoal_v1_device } from "../gen/shoal/v1/device_pb.js";
import { grpcServiceDefinition } from "../grpc/index.js";
import { grpcHandlersOf, type CallPolicy } from "../grpc/connect-on-grpc.js";

/** Fully-qualified name of the device service (its health-check and reflection name). */
export const DEVICE_SERVICE_NAME = DeviceService.typeName;

/** The descriptors reflection needs to describe the device service (dependencies are found through them). */
export const DEVICE_SERVICE_FILES: readonly DescFile[] = [file_shoal_v1_device];

/**
 * Register shoal.v1.DeviceService, from the Connect implementation `impl`, on an existing grpc-js
 * server (the query role's, beside QueryService and AlertService) with the call policy's limits and
 * access check. Health and reflection are the server owner's: add {@link DEVICE_SERVICE_NAME} and
 * {@link DEVICE_SERVICE_FILES} to them. On the HTTP port (gRPC-web, Connect) the same `impl` is
 * served with `webService(DeviceService, impl)` of src/grpc/web-server.ts.
 */
export function addDeviceService(server: grpc.Server, impl: ServiceImpl<typeof DeviceService>, policy: CallPolicy): void {
  server.addService(grpcServiceDefinition(DeviceService), grpcHandlersOf(DeviceService, impl, policy));
}
