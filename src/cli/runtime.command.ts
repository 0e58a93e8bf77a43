import type { CommandIo } from "./io.js";
import { untilSignal } from "./io.js";
import { loadRoleConfig } from "./load.js";
import { startRuntimeRole } from "./roles/runtime-role.js";

/** `shoal runtime`: run the actor runtime until SIGINT/SIGTERM (graceful: in-flight batches finish). */
export async function run(_argv: string[], io: CommandIo): Promise<number> {
  const ctx = await loadRoleConfig(io, "runtime");
  const rt = await startRuntimeRole(ctx.cfg, ctx.log);
  const unsubscribe = ctx.watcher.subscribe((next) => {
    rt.reconfigure(next.config);
    ctx.log.info({ version: next.version }, "configuration applied to device actors");
  });
  const timer = setInterval(() => ctx.log.info({ stats: rt.stats() }, "runtime counters"), 10_000);
  await untilSignal();
  clearInterval(timer);
  unsubscribe();
  await rt.close();
  await ctx.close();
  return 0;
}
