#!/usr/bin/env node
// Entry point of the `shoal` CLI. Runs the TypeScript sources with tsx's loader given as
// `--import tsx`, which worker threads inherit through execArgv, so every role runs from one
// codebase without a build step. Signals are forwarded so SIGTERM triggers a graceful shutdown.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const main = join(root, "src", "cli", "main.ts");
// A larger young generation for the main thread: a bridge allocates a few short-lived objects per
// MQTT message; with V8's default semi-space (16 MiB) scavenges took 16 % of `shoal up`'s main
// thread at 10,000 readings/s, 8 % with 64 MiB (worker threads set theirs: runtime.youngGenerationMb).
const child = spawn(process.execPath, ["--max-semi-space-size=64", "--import", "tsx", main, ...process.argv.slice(2)], { stdio: "inherit" });
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => child.kill(sig));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
