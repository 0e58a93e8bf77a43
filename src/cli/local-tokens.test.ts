import { mkdtempSync, rmSync, statSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ensureLocalTokens, localAdminToken, readLocalTokens } from "./local-tokens.js";
import { authorizationOf } from "./token.js";

const dirs: string[] = [];
const dir = () => {
  const d = mkdtempSync(join(tmpdir(), "shoal-local-tokens-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("local console tokens", () => {
  it("are made once (0600), an admin and a runtime operator, and kept across runs", () => {
    const d = dir();
    const a = ensureLocalTokens(d);
    expect(statSync(a.file).mode & 0o777).toBe(0o600);
    expect(a.tokens.map((t) => [t.name, t.role])).toEqual([
      ["local-admin", "admin"],
      ["runtime", "operator"],
    ]);
    expect(a.tokens.every((t) => t.token.length >= 32)).toBe(true);
    expect(ensureLocalTokens(d).tokens).toEqual(a.tokens);
    expect(localAdminToken(d)).toBe(a.tokens[0]!.token);
  });

  it("command-line clients use the local admin token only when SHOAL_TOKEN is unset", () => {
    const d = dir();
    expect(authorizationOf({ SHOAL_STACK_DIR: d })).toBeUndefined();
    const admin = ensureLocalTokens(d).tokens[0]!.token;
    expect(authorizationOf({ SHOAL_STACK_DIR: d })).toBe(`Bearer ${admin}`);
    expect(authorizationOf({ SHOAL_STACK_DIR: d, SHOAL_TOKEN: "given-token-0123456789" })).toBe("Bearer given-token-0123456789");
  });

  it("refuses a file other users can read, naming the file and no value", () => {
    const d = dir();
    const file = join(d, "console-tokens.json");
    writeFileSync(file, JSON.stringify({ tokens: [{ name: "x", role: "admin", token: "secret-value-123456" }] }));
    chmodSync(file, 0o644);
    expect(() => readLocalTokens(d)).toThrow(/readable by other users/);
    expect(() => readLocalTokens(d)).not.toThrow(/secret-value/);
    expect(localAdminToken(d)).toBeUndefined();
  });
});
