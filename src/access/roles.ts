/**
 * Who may call what (docs/adr/0018-console.md). Three roles, each including the one before:
 * viewer reads, operator also acts on the running system (acknowledge, silence, drain, restart),
 * admin also changes configuration. One table for every protocol: gRPC, gRPC-web and Connect.
 */
export const ROLES = ["viewer", "operator", "admin"] as const;
export type Role = (typeof ROLES)[number];

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** True when `have` may do what needs `need`. */
export function roleAllows(have: Role, need: Role): boolean {
  return RANK[have] >= RANK[need];
}

/** Methods that change something, by fully-qualified service name; every other method needs viewer. */
const WRITES: Record<string, Record<string, Role>> = {
  "shoal.v1.AlertService": { AcknowledgeAlert: "operator", ResolveAlert: "operator", SilenceAlerts: "operator", DeleteSilence: "operator" },
  "shoal.v1.AdminService": { Rebalance: "operator", DrainNode: "operator", RestartWorker: "operator" },
  "shoal.v1.ConfigService": { SetConfigKey: "admin", RollbackConfig: "admin" },
};

/** The role a call of `service`/`method` (names as in the proto: "shoal.v1.AdminService", "DrainNode") needs. */
export function requiredRole(service: string, method: string): Role {
  return WRITES[service]?.[method] ?? "viewer";
}
