import { z } from "zod";
import { ROLES } from "../access/roles.js";

/**
 * The operators' console (docs/adr/0018-console.md): who may call what, and where the app and the
 * cluster's admin API are. The console is served on `query.webPort` by every process that runs
 * the read side (`shoal up`, `shoal console`, `shoal query`).
 */
const tokenSchema = z.strictObject({
  /** Shown as the author of config changes and in the console's header. */
  name: z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/, { message: "must be 1-64 letters, digits, _ . @ and -" }),
  role: z.enum(ROLES),
  /** The bearer token; keep it `enc:` encrypted (`shoal config encrypt`). At least 16 characters. */
  token: z.string().min(16, { message: "must be at least 16 characters" }),
});

export const consoleSchema = z
  .strictObject({
    /**
     * Bearer tokens with their roles, checked on every call of the console's server and of the
     * gRPC ports (query, admin). Empty: no check, every caller is an admin (keep the ports on
     * loopback then; a warning is logged at start).
     */
    tokens: z.array(tokenSchema).default([]),
    /** Admin gRPC address (host:port) the console's cluster page asks when this process runs no actor runtime; "" = this process. */
    adminAddress: z.string().default(""),
    /** Folder of the built app (index.html, app.js); "" = dist/console of the installation. */
    appDir: z.string().default(""),
  })
  .superRefine((c, ctx) => {
    const names = new Set<string>();
    c.tokens.forEach((t, i) => {
      if (names.has(t.name)) ctx.addIssue({ code: "custom", path: ["tokens", i, "name"], message: `duplicate token name "${t.name}"` });
      names.add(t.name);
    });
  });
