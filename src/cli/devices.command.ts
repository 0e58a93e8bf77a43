import { UsageError, type CommandIo } from "./io.js";
import { DEVICE_OPTIONS, runDeviceOp } from "./devices-ops.js";
import { parseSubcommand } from "./subcommand.js";
import { TOKEN_ENV } from "./token.js";

const USAGE = `usage: shoal devices <command> [options]   the device registry (a client of shoal.v1.DeviceService)
  add <id> [--type T] [--label k=v ...] [--disabled]   register a device; prints its password (once)
  list [--prefix P] [--type T] [--label k=v ...] [--enabled|--disabled] [--limit N (100)]
  show <id>                                  one device
  label <id> [k=v ...] [--remove k ...] [--type T]   set or remove labels (and the type)
  disable <id> [--reason R]                  the broker drops and refuses the device
  enable <id>
  rotate <id>                                a new password (printed once; the old one stops working)
  delete <id> --yes                          remove the device and its broker account (readings stay)
  import <file.csv> [--out FILE]             register many (header id,type,labels; labels k=v;k=v);
                                             prints id,username,password CSV, or writes it to a new FILE (mode 0600)
options: --query <host:port> (default query.host:query.port of the configuration)  --json
A server that checks tokens (console.tokens) needs one: set ${TOKEN_ENV}=<token> (its name is recorded as updated_by).
`;

/**
 * `shoal devices ...`: the device registry from the command line, as a client of the DeviceService
 * on the query role's gRPC port. Exit code: 0 ok, 1 failed call, 2 usage error.
 */
export async function run(argv: string[], io: CommandIo): Promise<number> {
  const parsed = parseSubcommand(argv, io, USAGE, DEVICE_OPTIONS);
  if (typeof parsed === "number") return parsed;
  try {
    return await runDeviceOp(parsed.cmd, parsed.args, parsed.values, io);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr(`${e.message}\n${USAGE}`);
    return 2;
  }
}
