import type { CommandIo } from "./io.js";
import { untilSignal } from "./io.js";
import { loadRoleConfig } from "./load.js";
import { startRuntimeRole } from "./roles/runtime-role.js";

/** `shoal runtime`: run the actor runtime until SIGINT/SIGTERM (graceful: in-flight batches finish). */
export async function run(_argv: string[], io: CommandIo): Promise<number> {
  const { cfg, log } = await loadRoleConfig(io, "runtime");
  const rt = await startRuntimeRole(cfg, log);
  const timer = setInterval(() => log.info({ stats: rt.stats() }, "runtime counters"), 10_000);
  await untilSignal();
  clearInterval(timer);
  await rt.close();
  return 0;
}
