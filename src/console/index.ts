/**
 * The operators' console server (docs/adr/0018-console.md): the built browser app, the services
 * over gRPC-web and Connect with the access check, and /healthz on one port.
 */
export { defaultAppDir, startConsoleServer } from "./console-server.js";
export type { ConsoleServer, ConsoleServerOptions } from "./console-server.js";
export { cacheControlOf, contentTypeOf, createStaticHandler, NOT_BUILT_PAGE, relativePathOf } from "./static-files.js";
