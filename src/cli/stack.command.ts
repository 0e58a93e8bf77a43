import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { CommandIo } from "./io.js";

/** `shoal stack up|down|status|install`: the local service stack (deploy/local/stack.sh). */
export async function run(argv: string[], io: CommandIo): Promise<number> {
  const script = fileURLToPath(new URL("../../deploy/local/stack.sh", import.meta.url));
  const res = spawnSync("bash", [script, ...argv], { stdio: "inherit", env: io.env as NodeJS.ProcessEnv });
  return res.status ?? 1;
}
