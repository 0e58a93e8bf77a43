import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";

/** Debian's Chromium (installed by `npm run stack -- install`); SHOAL_CHROMIUM overrides. */
export const CHROMIUM = process.env["SHOAL_CHROMIUM"] ?? "/usr/bin/chromium";

/** Where the browser tests write their screenshots (test artefacts, never committed). */
export const ARTIFACTS = fileURLToPath(new URL("../../.shoal/artifacts/console/", import.meta.url));

/**
 * A real headless Chromium driven by playwright-core (no browser download). The flags keep it off
 * the network it would otherwise call at start (this machine's network is closed).
 */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
  });
}

/** A screenshot of `page` as `<ARTIFACTS>/<name>.png`; returns the path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
