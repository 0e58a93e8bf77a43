import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

/**
 * A python3-grpcio client of test/clients (a client nobody here wrote: Debian's python3-grpcio,
 * messages from `buf build`'s descriptor set). `build()` writes the descriptor set (before the
 * suite), `run()` starts the script against `address()` and resolves with its JSON lines (each
 * also given to `onLine` as it comes), `cleanup()` removes the temp folder.
 */
export function pythonClient(scriptName: string, address: () => string) {
  const dir = mkdtempSync(join(tmpdir(), "shoal-py-"));
  const descriptors = join(dir, "shoal.binpb");
  const script = fileURLToPath(new URL(`../clients/${scriptName}`, import.meta.url));
  return {
    descriptors,
    build: () => void execFileSync(join(root, "node_modules/.bin/buf"), ["build", "-o", descriptors], { cwd: root }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
    run: (args: readonly string[], onLine: (o: Record<string, unknown>) => void = () => {}) =>
      new Promise<Array<Record<string, unknown>>>((resolve, reject) => {
        const p = spawn("/usr/bin/python3", [script, address(), descriptors, ...args], { stdio: ["ignore", "pipe", "pipe"] });
        const lines: Array<Record<string, unknown>> = [];
        let buf = "";
        let err = "";
        p.stdout.on("data", (d: Buffer) => {
          buf += d.toString();
          for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
            const o = JSON.parse(buf.slice(0, i)) as Record<string, unknown>;
            buf = buf.slice(i + 1);
            lines.push(o);
            onLine(o);
          }
        });
        p.stderr.on("data", (d: Buffer) => (err += d.toString()));
        p.on("exit", (code) => (code === 0 ? resolve(lines) : reject(new Error(`python client exited ${code}: ${err}`))));
      }),
  };
}
