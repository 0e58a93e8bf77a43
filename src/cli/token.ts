import type { Interceptor } from "@connectrpc/connect";
import { localStackDir } from "./local-credentials.js";
import { localAdminToken } from "./local-tokens.js";

/**
 * The environment variable the command-line clients (`shoal admin`, `shoal cluster status --admin`,
 * `shoal alerts <op>`) take their bearer token from, for servers that check tokens
 * (`console.tokens`). An environment variable, not a flag: flags end up in shell history and `ps`.
 */
export const TOKEN_ENV = "SHOAL_TOKEN";

/**
 * "Bearer <token>" from the environment; when SHOAL_TOKEN is unset, the admin token `shoal up` made
 * for the local stack (src/cli/local-tokens.ts), if any; else undefined.
 */
export function authorizationOf(env: Record<string, string | undefined>): string | undefined {
  const t = env[TOKEN_ENV]?.trim() || localAdminToken(localStackDir(env));
  return t ? `Bearer ${t}` : undefined;
}

/** A Connect interceptor sending `authorization` on every call (none when undefined). */
export function authorizationInterceptor(authorization: string | undefined): Interceptor {
  return (next) => (req) => {
    if (authorization !== undefined) req.header.set("authorization", authorization);
    return next(req);
  };
}
