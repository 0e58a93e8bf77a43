import { ShoalError } from "../base/errors.js";

/** A command line the command cannot run (unknown flag, bad value): the message says which and why. */
export class UsageError extends ShoalError {
  override readonly name = "UsageError";
  constructor(message: string) {
    super(message, { code: "invalid_input", retryable: false });
  }
}

/** What a CLI command gets: the environment (passed in, never read deep inside) and output streams. */
export interface CommandIo {
  readonly env: Record<string, string | undefined>;
  stdout(s: string): void;
  stderr(s: string): void;
}

/** A CLI command: argv after the command name; resolves with the exit code. */
export type Command = (argv: string[], io: CommandIo) => Promise<number>;

/** Resolves when SIGINT or SIGTERM arrives (for long-running roles). */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (s: NodeJS.Signals) => {
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
      resolve(s);
    };
    process.on("SIGINT", on);
    process.on("SIGTERM", on);
  });
}
