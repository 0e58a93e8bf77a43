import type { Role } from "../../access/roles.js";
import { ROLES, requiredRole, roleAllows } from "../../access/roles.js";

/**
 * What the caller may do in the console, from GetInfo.caller_role. The server checks every call
 * with the same table (src/access/roles.ts, imported here so the two cannot drift); the app only
 * disables what the server would refuse, and says why.
 */
export const ACTIONS = {
  acknowledge: ["shoal.v1.AlertService", "AcknowledgeAlert"],
  resolve: ["shoal.v1.AlertService", "ResolveAlert"],
  silence: ["shoal.v1.AlertService", "SilenceAlerts"],
  deleteSilence: ["shoal.v1.AlertService", "DeleteSilence"],
  drain: ["shoal.v1.AdminService", "DrainNode"],
  rebalance: ["shoal.v1.AdminService", "Rebalance"],
  restartWorker: ["shoal.v1.AdminService", "RestartWorker"],
  editConfig: ["shoal.v1.ConfigService", "SetConfigKey"],
  rollbackConfig: ["shoal.v1.ConfigService", "RollbackConfig"],
  createDevice: ["shoal.v1.DeviceService", "CreateDevice"],
  updateDevice: ["shoal.v1.DeviceService", "UpdateDevice"],
  enableDevice: ["shoal.v1.DeviceService", "SetDeviceEnabled"],
  rotateCredentials: ["shoal.v1.DeviceService", "RotateCredentials"],
  deleteDevice: ["shoal.v1.DeviceService", "DeleteDevice"],
  importDevices: ["shoal.v1.DeviceService", "ImportDevices"],
  sendCommand: ["shoal.v1.DeviceCommandService", "SendCommand"],
  readAudit: ["shoal.v1.AuditService", "ListAuditEvents"],
} as const satisfies Record<string, readonly [string, string]>;

export type Action = keyof typeof ACTIONS;

/** Whether a control is enabled, and if not, the sentence shown as its title and description. */
export type Permission = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

const ALLOWED: Permission = { allowed: true };

/** The caller's role as GetInfo says it; anything unknown (an older server, an empty field) reads as viewer. */
export function parseRole(raw: string): Role {
  const r = raw.trim().toLowerCase();
  return (ROLES as readonly string[]).includes(r) ? (r as Role) : "viewer";
}

/** The role `action` needs. */
export function roleFor(action: Action): Role {
  const [service, method] = ACTIONS[action];
  return requiredRole(service, method);
}

/** May `role` do `action`? If not, why (for the disabled button's title). */
export function permission(role: Role, action: Action): Permission {
  const need = roleFor(action);
  if (roleAllows(role, need)) return ALLOWED;
  return { allowed: false, reason: `Needs the ${need} role; you are signed in as ${role}.` };
}

/** Every action with its permission for `role` (what the header and tests list). */
export function permissions(role: Role): Record<Action, Permission> {
  const out = {} as Record<Action, Permission>;
  for (const a of Object.keys(ACTIONS) as Action[]) out[a] = permission(role, a);
  return out;
}

/** Combines a role permission with a further condition (e.g. the config is read-only here). */
export function also(p: Permission, ok: boolean, reason: string): Permission {
  if (!p.allowed) return p;
  return ok ? ALLOWED : { allowed: false, reason };
}
