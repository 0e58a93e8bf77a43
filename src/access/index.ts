export { ACCESS_TABLE, OPEN_SERVICES, ROLES, isAudited, methodRule, roleAllows, requiredRole } from "./roles.js";
export type { MethodRule, Role } from "./roles.js";
export { createAccessCheck, isRefusal, permit, tokenNamed } from "./tokens.js";
export type { AccessCheck, AccessRefusal, AccessToken, Caller } from "./tokens.js";
export { CALLER } from "./context.js";
