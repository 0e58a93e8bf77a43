/** Consul adapter: KV (configuration) and agent (service registration). */
export { ConsulError, toConsulError } from "./errors.js";
export type { ConsulFailure } from "./errors.js";
export { createConsulKv, consulClient } from "./kv.js";
export type { ConsulConnection, ConsulKv, KvRead, KvWrite } from "./kv.js";
export { createConsulAgent, serviceCheckId } from "./service.js";
export type { ConsulAgent, ServiceDefinition } from "./service.js";
export { createConsulSessions } from "./session.js";
export type { ConsulSessions, SessionOptions } from "./session.js";
export { createConsulLocks } from "./lock.js";
export type { ConsulLocks, LockEntry, LockListing } from "./lock.js";
export { consulLeases } from "./leases.js";
