import type { Interceptor, Transport } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { isUnauthenticated } from "./errors.js";

import { TOKEN_KEY } from "./token-key.js";

export { TOKEN_KEY };

/** The token of this tab (sessionStorage), read fresh on every call. */
export interface TokenStore {
  get(): string;
  set(token: string): void;
  clear(): void;
}

/** The token store over `storage` (sessionStorage in the app; a Map-backed fake in tests). */
export function createTokenStore(storage: Pick<Storage, "getItem" | "setItem" | "removeItem">): TokenStore {
  return {
    get: () => {
      try {
        return storage.getItem(TOKEN_KEY) ?? "";
      } catch {
        return "";
      }
    },
    set: (token) => storage.setItem(TOKEN_KEY, token.trim()),
    clear: () => storage.removeItem(TOKEN_KEY),
  };
}

/** `authorization: Bearer <token>` on every call when a token is stored. */
export function authInterceptor(tokens: TokenStore): Interceptor {
  return (next) => async (req) => {
    const token = tokens.get();
    if (token !== "") req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
}

/**
 * Reports an Unauthenticated answer (a token that was revoked or a server that now checks tokens)
 * once per call; the app returns to its login form with the server's message.
 */
export function unauthenticatedInterceptor(onUnauthenticated: (e: unknown) => void): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (e) {
      if (isUnauthenticated(e)) onUnauthenticated(e);
      throw e;
    }
  };
}

/** The gRPC-web transport to the console's server (same origin, HTTP/1.1); `fetch` defaults to the browser's. */
export function createConsoleTransport(opts: { baseUrl: string; tokens: TokenStore; onUnauthenticated: (e: unknown) => void; fetch?: typeof globalThis.fetch }): Transport {
  return createGrpcWebTransport({
    baseUrl: opts.baseUrl,
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
    interceptors: [unauthenticatedInterceptor(opts.onUnauthenticated), authInterceptor(opts.tokens)],
  });
}
