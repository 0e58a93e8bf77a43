/**
 * Integration-test harness: real servers per test suite on random free loopback ports in temp
 * dirs, independent of `npm run stack`. Configs come from deploy/local/templates/ (shared with
 * deploy/local/stack.sh). Every server is killed when the test process exits, even if it
 * crashes (see reaper.ts). See docs/adr/0002-local-services.md.
 */
export type { ServiceHandle, StartupTiming } from "./managed-service.js";
export { ServiceMissingError, ServiceStartError } from "./errors.js";
export { freePort, releasePort } from "./free-port.js";
export { startNats } from "./nats.js";
export type { NatsOptions } from "./nats.js";
export { startNatsCluster } from "./nats-cluster.js";
export type { NatsClusterHandle, NatsClusterOptions, NatsNodeHandle, WaitCurrentOptions } from "./nats-cluster.js";
export { startMosquitto } from "./mosquitto.js";
export { startClickHouse } from "./clickhouse.js";
export { startRedis } from "./redis.js";
export { startConsul } from "./consul.js";
