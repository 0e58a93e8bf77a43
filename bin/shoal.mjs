#!/usr/bin/env node
// Entry point of the `shoal` CLI. Runs the TypeScript sources through tsx's loader, which is also
// inherited by worker threads (execArgv), so every role runs from one codebase without a build step.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const main = join(root, "src", "cli", "main.ts");
const res = spawnSync(process.execPath, ["--import", "tsx", main, ...process.argv.slice(2)], {
  stdio: "inherit",
  cwd: process.cwd(),
  env: process.env,
});
process.exit(res.status ?? (res.signal ? 128 : 1));
