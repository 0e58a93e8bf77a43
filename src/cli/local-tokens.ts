import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AccessToken } from "../access/index.js";

/**
 * The console tokens `shoal up` makes for the local stack when none are configured, so a local run
 * has no open door either: `<stackDir>/console-tokens.json` (mode 0600), an admin token for the
 * operator at the keyboard (the console's sign-in, and the command-line clients read it when
 * SHOAL_TOKEN is unset) and an operator token named `runtime` for internal callers
 * (gateway.client.tokenName). Made once, kept across runs.
 */
export interface LocalTokens {
  readonly file: string;
  readonly tokens: readonly AccessToken[];
}

const FILE = "console-tokens.json";

/** The local tokens file of `stackDir`, created (0600) when missing. */
export function ensureLocalTokens(stackDir: string): LocalTokens {
  const file = join(stackDir, FILE);
  const existing = readLocalTokens(stackDir);
  if (existing !== undefined) return existing;
  const tokens: AccessToken[] = [
    { name: "local-admin", role: "admin", token: randomBytes(24).toString("base64url") },
    { name: "runtime", role: "operator", token: randomBytes(24).toString("base64url") },
  ];
  mkdirSync(stackDir, { recursive: true });
  writeFileSync(file, `${JSON.stringify({ tokens }, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { file, tokens };
}

/** The local tokens, or undefined when `shoal up` made none in `stackDir`. Throws when the file is readable by others or malformed (naming the file, never a value). */
export function readLocalTokens(stackDir: string): LocalTokens | undefined {
  const file = join(stackDir, FILE);
  let text: string;
  try {
    if ((statSync(file).mode & 0o077) !== 0) throw new Error(`${file} is readable by other users: chmod 600 it (it holds console tokens)`);
    text = readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  const doc = JSON.parse(text) as { tokens?: unknown };
  const ok = Array.isArray(doc.tokens) && doc.tokens.every((t: AccessToken) => typeof t?.name === "string" && typeof t.token === "string" && ["viewer", "operator", "admin"].includes(t.role));
  if (!ok) throw new Error(`${file}: expected {"tokens": [{name, role, token}]}`);
  return { file, tokens: doc.tokens as AccessToken[] };
}

/** The admin token of the local tokens file, for command-line clients when SHOAL_TOKEN is unset. */
export function localAdminToken(stackDir: string): string | undefined {
  try {
    return readLocalTokens(stackDir)?.tokens.find((t) => t.role === "admin")?.token;
  } catch {
    return undefined;
  }
}
