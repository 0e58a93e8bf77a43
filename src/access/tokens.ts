import { createHash, timingSafeEqual } from "node:crypto";
import type { Role } from "./roles.js";
import { requiredRole, roleAllows } from "./roles.js";

/** A configured bearer token (the value is a secret: `enc:` in config, never logged). */
export interface AccessToken {
  readonly name: string;
  readonly role: Role;
  readonly token: string;
}

/** Who is calling: the token's name and role. */
export interface Caller {
  readonly name: string;
  readonly role: Role;
}

/** Why a call is refused: no or an unknown token (unauthenticated), or too small a role (denied). */
export type AccessRefusal = { readonly kind: "unauthenticated"; readonly message: string } | { readonly kind: "denied"; readonly message: string };

/** Checks calls against the configured tokens. */
export interface AccessCheck {
  /** False when no token is configured: every caller is an admin (loopback-only deployments). */
  readonly enforced: boolean;
  /** The caller of an `authorization` header value ("Bearer <token>"), or why not. */
  authenticate(authorization: string | undefined): Caller | AccessRefusal;
  /** The caller if it may call `service`/`method`, else why not. */
  authorize(authorization: string | undefined, service: string, method: string): Caller | AccessRefusal;
}

/** Everyone, when no token is configured. */
const ANYONE: Caller = { name: "anonymous", role: "admin" };

const digest = (s: string) => createHash("sha256").update(s).digest();

/**
 * The check for `tokens`. Tokens are compared by their SHA-256 digests in constant time, so a
 * wrong token takes as long as a right one; none of them is kept in any message.
 */
export function createAccessCheck(tokens: readonly AccessToken[]): AccessCheck {
  const known = tokens.map((t) => ({ caller: { name: t.name, role: t.role } as Caller, digest: digest(t.token) }));
  const authenticate = (authorization: string | undefined): Caller | AccessRefusal => {
    if (known.length === 0) return ANYONE;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    if (m === null) return { kind: "unauthenticated", message: "a token is needed: send `authorization: Bearer <token>`" };
    const d = digest(m[1]!);
    let found: Caller | undefined;
    for (const k of known) if (timingSafeEqual(k.digest, d)) found ??= k.caller;
    return found ?? { kind: "unauthenticated", message: "unknown token" };
  };
  return {
    enforced: known.length > 0,
    authenticate,
    authorize(authorization, service, method) {
      const who = authenticate(authorization);
      if (isRefusal(who)) return who;
      return permit(who, service, method) ?? who;
    },
  };
}

/**
 * Why `caller` may not call `service`/`method` (too small a role: "denied"), or undefined when it
 * may. Unknown services and methods need admin (src/access/roles.ts).
 */
export function permit(caller: Caller, service: string, method: string): AccessRefusal | undefined {
  const need = requiredRole(service, method);
  return roleAllows(caller.role, need) ? undefined : { kind: "denied", message: `${method} needs the ${need} role; ${caller.name} is ${caller.role}` };
}

/** True when `x` is a refusal, not a caller. */
export function isRefusal(x: Caller | AccessRefusal): x is AccessRefusal {
  return "kind" in x;
}

/** The token value of the entry named `name` (internal callers pick theirs by name), or undefined. */
export function tokenNamed(tokens: readonly AccessToken[], name: string): string | undefined {
  return name === "" ? undefined : tokens.find((t) => t.name === name)?.token;
}
