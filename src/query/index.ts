// The read side: shoal.v1.QueryService over the read model and the vector store.
export { createQueryService } from "./query-service.js";
export type { QueryServiceDeps } from "./query-service.js";
export { startQueryServer, QUERY_SERVICE_NAME } from "./server.js";
export type { QueryServer, QueryServerOptions } from "./server.js";
export { WatchHub } from "./watch-hub.js";
export type { WatchHubOptions } from "./watch-hub.js";
export { FleetHub, MAX_FLEET_TOP } from "./fleet-hub.js";
export type { FleetHubDeps, FleetHubOptions, FleetSnapshot } from "./fleet-hub.js";
export { chooseResolution } from "./resolution.js";
