import type * as grpc from "@grpc/grpc-js";
import type { DescFile } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { AuditService, file_shoal_v1_audit } from "../gen/shoal/v1/audit_pb.js";
import { grpcServiceDefinition } from "../grpc/index.js";
import { grpcHandlersOf, type CallPolicy } from "../grpc/connect-on-grpc.js";

/** Fully-qualified name of the audit service (its health-check and reflection name). */
export const AUDIT_SERVICE_NAME = AuditService.typeName;

/** The descriptors reflection needs to describe the audit service (dependencies are found through them). */
export const AUDIT_SERVICE_FILES: readonly DescFile[] = [file_shoal_v1_audit];

/**
 * Register shoal.v1.AuditService, from the Connect implementation `impl`, on an existing grpc-js
 * server (the query role's, beside QueryService and AlertService) with the call policy's limits and
 * access check. Health and reflection are the server owner's: add {@link AUDIT_SERVICE_NAME} and
 * {@link AUDIT_SERVICE_FILES} to them. On the HTTP port (gRPC-web, Connect) the same `impl` is
 * served with `webService(AuditService, impl)` of src/grpc/web-server.ts.
 */
export function addAuditService(server: grpc.Server, impl: ServiceImpl<typeof AuditService>, policy: CallPolicy): void {
  server.addService(grpcServiceDefinition(AuditService), grpcHandlersOf(AuditService, impl, policy));
}
