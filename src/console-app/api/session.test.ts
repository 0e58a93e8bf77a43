import { createRouterTransport, createClient } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { AdminService } from "../../gen/shoal/v1/admin_pb.js";
import { Code, ConnectError } from "@connectrpc/connect";
import { TOKEN_KEY, authInterceptor, createTokenStore, unauthenticatedInterceptor } from "./session.js";
import { toCallError } from "./errors.js";

const memoryStorage = () => {
  const m = new Map<string, string>();
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), removeItem: (k: string) => void m.delete(k), m };
};

describe("session", () => {
  it("keeps the token under one key, trimmed", () => {
    const s = memoryStorage();
    const tokens = createTokenStore(s);
    expect(tokens.get()).toBe("");
    tokens.set("  abc  ");
    expect(s.m.get(TOKEN_KEY)).toBe("abc");
    tokens.clear();
    expect(tokens.get()).toBe("");
  });

  it("sends the bearer token when there is one and reports Unauthenticated", async () => {
    const seen: (string | null)[] = [];
    const s = memoryStorage();
    const tokens = createTokenStore(s);
    const refused: unknown[] = [];
    const transport = createRouterTransport(
      ({ service }) => {
        service(AdminService, {
          getInfo: (_req, ctx) => {
            const auth = ctx.requestHeader.get("authorization");
            seen.push(auth);
            if (auth === "Bearer bad") throw new ConnectError("unknown token", Code.Unauthenticated);
            return { callerName: auth ? "ann" : "anonymous", callerRole: auth ? "operator" : "admin" };
          },
        });
      },
      { transport: { interceptors: [unauthenticatedInterceptor((e) => refused.push(e)), authInterceptor(tokens)] } },
    );
    const admin = createClient(AdminService, transport);
    expect((await admin.getInfo({})).callerRole).toBe("admin");
    tokens.set("good");
    expect((await admin.getInfo({})).callerName).toBe("ann");
    tokens.set("bad");
    await expect(admin.getInfo({})).rejects.toThrow(/unknown token/);
    expect(seen).toEqual([null, "Bearer good", "Bearer bad"]);
    expect(refused).toHaveLength(1);
    expect(toCallError(refused[0])).toMatchObject({ codeName: "Unauthenticated", message: "unknown token", retryable: false });
  });

  it("names a failed fetch as the server being unreachable", () => {
    expect(toCallError(new TypeError("Failed to fetch"))).toMatchObject({ codeName: "Unavailable", retryable: true });
  });
});
