export { ROLES, roleAllows, requiredRole } from "./roles.js";
export type { Role } from "./roles.js";
export { createAccessCheck, isRefusal } from "./tokens.js";
export type { AccessCheck, AccessRefusal, AccessToken, Caller } from "./tokens.js";
export { CALLER } from "./context.js";
