// grpc-js glue for protobuf-es generated code, shared by every gRPC server and client of Shoal.
export { grpcServiceDefinition } from "./service-definition.js";
export type { CodecOverrides } from "./service-definition.js";
export { addReflection } from "./reflection.js";
export { shutdownServer } from "./shutdown.js";
export { createGrpcServer, MalformedRequest } from "./malformed-request.js";
export { widenFlowControlWindows } from "./flow-control.js";
