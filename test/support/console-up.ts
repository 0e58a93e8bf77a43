import type { ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, onTestFailed } from "vitest";
import type { Browser, Page } from "playwright-core";
import type { Transport } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-node";
import { exited, spawnRole, waitFor } from "./pipeline.js";
import { ARTIFACTS, screenshot } from "./browser.js";

/** Bearer tokens of the console tests, one per role (each at least 16 characters). */
export const CONSOLE_TOKENS = { viewer: "viewer-token-0123456789abcdef", operator: "operator-token-0123456789abcdef", admin: "admin-token-0123456789abcdef" } as const;
export type ConsoleRole = keyof typeof CONSOLE_TOKENS;

let failedPages = 0;

/** `console.tokens` naming each of {@link CONSOLE_TOKENS} `<role>-1` (SHOAL__CONSOLE__TOKENS). */
export const consoleTokensEnv = (): string => JSON.stringify(Object.entries(CONSOLE_TOKENS).map(([role, token]) => ({ name: `${role}-1`, role, token })));

/** A `shoal up` process serving the console. */
export interface ConsoleUp {
  readonly process: ChildProcess;
  /** `http://host:port` of the console (as `shoal up` printed it). */
  readonly url: string;
  /** Everything the process printed so far. */
  output(): string;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
}

/** Starts `shoal up <args>` with `env` and resolves once it printed the console's URL (90 s at most). */
export async function startConsoleUp(env: Record<string, string>, args: readonly string[]): Promise<ConsoleUp> {
  let output = "";
  const up = spawnRole("up", env, (s) => (output += s), args);
  const printed = await waitFor(async () => output, (o) => /console: http:\/\/[^\s/]+\//.test(o) || up.exitCode !== null, 90_000, "shoal up to print the console URL");
  const url = /console: (http:\/\/[^\s/]+)\//.exec(printed)?.[1];
  if (url === undefined) throw new Error(`shoal up printed no console URL:\n${output.slice(-3000)}`);
  return {
    process: up,
    url,
    output: () => output,
    async stop() {
      if (up.exitCode !== null || up.signalCode !== null) return;
      up.kill("SIGTERM");
      await exited(up);
    },
  };
}

/**
 * A fresh page of the console at `url`, signed in as `role`, at `hash`. Should the test fail, the
 * page is kept as `failed-<n>.png` beside a `.txt` of its URL, browser console lines and failed
 * or non-2xx calls (in the browser tests' artefacts), so a failure in CI says what the page showed.
 */
export async function signedInPage(browser: Browser, url: string, role: ConsoleRole, hash: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  const seen: string[] = [];
  const at = () => new Date().toISOString().slice(11, 23);
  page.on("console", (m) => seen.push(`${at()} console.${m.type()}: ${m.text()}`));
  page.on("requestfailed", (r) => seen.push(`${at()} failed ${r.method()} ${r.url()}: ${r.failure()?.errorText ?? ""}`));
  page.on("response", (r) => {
    const grpc = r.headers()["grpc-status"];
    if (r.status() >= 300 || (grpc !== undefined && grpc !== "0")) seen.push(`${at()} ${r.status()} grpc-status ${grpc ?? "-"} ${r.url()}`);
  });
  onTestFailed(async () => {
    const name = `failed-${++failedPages}`;
    await screenshot(page, name).catch(() => {});
    writeFileSync(join(ARTIFACTS, `${name}.txt`), [`${role} at ${page.url()}`, ...seen].join("\n") + "\n");
    console.error(`console page of the failed test kept: ${join(ARTIFACTS, name)}.png/.txt; ${role} at ${page.url()}; its last lines:\n${seen.slice(-20).join("\n")}`);
  });
  await page.goto(`${url}/${hash}`);
  await page.getByTestId("login-token").fill(CONSOLE_TOKENS[role]);
  await page.getByTestId("login-submit").click();
  await expect.poll(() => page.getByTestId("caller-role").textContent(), { timeout: 15_000 }).toContain(role);
  return page;
}

/** A gRPC-web transport to the console at `url` sending `role`'s token, as the app does. */
export function bearerTransport(url: string, role: ConsoleRole): Transport {
  return createGrpcWebTransport({ baseUrl: url, httpVersion: "1.1", interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${CONSOLE_TOKENS[role]}`), next(req))] });
}
