import type { LockStore, SessionStore } from "../../ports/leases.js";
import type { ConsulConnection } from "./kv.js";
import { createConsulLocks } from "./lock.js";
import { createConsulSessions } from "./session.js";

/** The cluster's lease stores on one Consul agent, keys under `prefix`. */
export function consulLeases(conn: ConsulConnection, prefix: string): { locks: LockStore; sessions: SessionStore; prefix: string } {
  return { locks: createConsulLocks(conn), sessions: createConsulSessions(conn), prefix };
}
