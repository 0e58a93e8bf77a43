import type { CommandIo } from "./io.js";
import { runReadSide } from "./query.command.js";

/**
 * `shoal console`: a console pod — the read side (what `shoal query` runs) and the operators'
 * console on `query.webPort` (the app; QueryService, AlertService, AdminService over gRPC-web and
 * Connect). It runs no actor runtime: AdminService calls go to `console.adminAddress`.
 */
export async function run(_argv: string[], io: CommandIo): Promise<number> {
  return runReadSide(io, "console");
}
