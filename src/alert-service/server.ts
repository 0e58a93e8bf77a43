import type * as grpc from "@grpc/grpc-js";
import type { DescFile } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { AlertService, file_shoal_v1_alert } from "../gen/shoal/v1/alert_pb.js";
import { grpcServiceDefinition } from "../grpc/index.js";
import { grpcHandlersOf, type CallPolicy } from "../grpc/connect-on-grpc.js";

/** Fully-qualified name of the alert service (its health-check and reflection name). */
export const ALERT_SERVICE_NAME = AlertService.typeName;

/** The descriptors reflection needs to describe the alert service (dependencies are found through them). */
export const ALERT_SERVICE_FILES: readonly DescFile[] = [file_shoal_v1_alert];

/**
 * Register shoal.v1.AlertService, from the Connect implementation `impl`, on an existing grpc-js
 * server (the query role's, beside QueryService) with the call policy's limits. Health and
 * reflection are the server owner's: add {@link ALERT_SERVICE_NAME} and {@link ALERT_SERVICE_FILES} to them.
 */
export function addAlertService(server: grpc.Server, impl: ServiceImpl<typeof AlertService>, policy: CallPolicy): void {
  server.addService(grpcServiceDefinition(AlertService), grpcHandlersOf(AlertService, impl, policy));
}
