import { parseArgs, type ParseArgsConfig } from "node:util";
import type { CommandIo } from "./io.js";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** A parsed `shoal <tool> <subcommand> [args] [--options]` line. */
export interface Subcommand<V> {
  readonly cmd: string;
  readonly args: string[];
  readonly values: V;
}

/**
 * Parse a tool's subcommand line with node:util parseArgs (`--help/-h` is added). Prints usage and
 * returns the exit code instead of a Subcommand for `--help` (0), no subcommand or bad options (2).
 */
export function parseSubcommand<O extends Options>(argv: string[], io: CommandIo, usage: string, options: O): Subcommand<ReturnType<typeof parseArgs<{ options: O & { help: { type: "boolean"; short: "h" } }; allowPositionals: true }>>["values"]> | number {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { ...options, help: { type: "boolean", short: "h" } } as O & { help: { type: "boolean"; short: "h" } } });
  } catch (err) {
    io.stderr(`${(err as Error).message}\n${usage}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [cmd, ...args] = positionals;
  if ((values as { help?: boolean }).help || !cmd) {
    ((values as { help?: boolean }).help ? io.stdout : io.stderr)(usage);
    return (values as { help?: boolean }).help ? 0 : 2;
  }
  return { cmd, args, values };
}
