import { closeSync, existsSync, openSync, readFileSync, writeSync } from "node:fs";
import { toJson } from "@bufbuild/protobuf";
import { ConnectError, createClient, type Client } from "@connectrpc/connect";
import { errorMessage } from "../base/errors.js";
import {
  CreateDeviceResponseSchema,
  DeviceService,
  DeviceServiceGetDeviceResponseSchema,
  ImportedDeviceSchema,
  RegisteredDeviceSchema,
  RotateCredentialsResponseSchema,
  type ImportedDevice,
  type RegisteredDevice,
} from "../gen/shoal/v1/device_pb.js";
import { formatDeviceCsv, IMPORT_CHUNK_ROWS, parseDeviceCsv } from "../registry/csv.js";
import { UsageError, type CommandIo } from "./io.js";
import { grpcTransportFor, queryTarget } from "./transport.js";
import { authorizationInterceptor, authorizationOf } from "./token.js";

/** Options of `shoal devices <command>` (parseArgs spec). */
export const DEVICE_OPTIONS = {
  query: { type: "string" },
  type: { type: "string" },
  label: { type: "string", multiple: true },
  remove: { type: "string", multiple: true },
  prefix: { type: "string" },
  enabled: { type: "boolean" },
  disabled: { type: "boolean" },
  limit: { type: "string" },
  reason: { type: "string" },
  yes: { type: "boolean" },
  out: { type: "string" },
  json: { type: "boolean" },
} as const;

/** The parsed options of {@link DEVICE_OPTIONS}. */
export interface DeviceOpValues {
  readonly query?: string;
  readonly type?: string;
  readonly label?: string[];
  readonly remove?: string[];
  readonly prefix?: string;
  readonly enabled?: boolean;
  readonly disabled?: boolean;
  readonly limit?: string;
  readonly reason?: string;
  readonly yes?: boolean;
  readonly out?: string;
  readonly json?: boolean;
}

/** Most devices `devices list --limit` prints. */
const MAX_LIST = 100_000;
const when = (ms: bigint) => (ms > 0n ? new Date(Number(ms)).toISOString() : "-");
const labelText = (l: Readonly<Record<string, string>>) => Object.entries(l).map(([k, v]) => `${k}=${v}`).join(",") || "-";
const deviceJson = (d: RegisteredDevice) => toJson(RegisteredDeviceSchema, d);

/**
 * Runs one `shoal devices` command as a client of shoal.v1.DeviceService at `--query host:port`
 * (default query.host:query.port of the configuration), sending SHOAL_TOKEN. Exit code 0, or 1 when
 * the call failed (the server's message on stderr); usage errors are thrown as UsageError.
 * Passwords go to stdout (or the `--out` file, mode 0600) once and nowhere else.
 */
export async function runDeviceOp(cmd: string, args: readonly string[], o: DeviceOpValues, io: CommandIo): Promise<number> {
  const need = (n: number, what: string) => {
    if (args.length !== n) throw new UsageError(`shoal devices ${cmd} takes ${what}`);
  };
  const out = (json: unknown, text: string) => io.stdout(o.json ? `${JSON.stringify(json, null, 2)}\n` : text);
  const check = plan(cmd, args, o, need);
  const { address, tls } = await queryTarget(io, o.query);
  const client = createClient(DeviceService, grpcTransportFor(address, tls, [authorizationInterceptor(authorizationOf(io.env))]));
  try {
    await check(client, out, io);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    io.stderr(`shoal devices ${cmd}: ${e instanceof ConnectError ? e.message : errorMessage(e)}\n`);
    return 1;
  }
}

type Out = (json: unknown, text: string) => void;
type Step = (c: Client<typeof DeviceService>, out: Out, io: CommandIo) => Promise<void>;

/** The command line checked (usage errors thrown before anything is called), as the step that runs it. */
function plan(cmd: string, args: readonly string[], o: DeviceOpValues, need: (n: number, what: string) => void): Step {
  const id = args[0] ?? "";
  switch (cmd) {
    case "add": {
      need(1, "one device id");
      const labels = parseLabels(o.label ?? [], "--label");
      return async (c, out, io) => {
        const r = await c.createDevice({ id, type: o.type ?? "", labels, disabled: o.disabled === true });
        warnOnce(io, id);
        out(toJson(CreateDeviceResponseSchema, r), `device ${id} registered (${r.device?.enabled ? "enabled" : "disabled"})\nusername ${r.credentials?.username}\npassword ${r.credentials?.password}\n`);
      };
    }
    case "list": {
      need(0, "no arguments (filter with --prefix, --type, --label, --enabled or --disabled)");
      if (o.enabled && o.disabled) throw new UsageError("--enabled and --disabled exclude each other");
      const limit = o.limit === undefined ? 100 : Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST) throw new UsageError(`--limit must be 1..${MAX_LIST}, got ${JSON.stringify(o.limit)}`);
      const labels = parseLabels(o.label ?? [], "--label");
      return async (c, out) => {
        const got: RegisteredDevice[] = [];
        let total = 0n;
        let pageToken = "";
        do {
          const r = await c.listDevices({ idPrefix: o.prefix ?? "", type: o.type ?? "", labels, enabledFilter: o.enabled ? 1 : o.disabled ? 2 : 0, pageSize: Math.min(1000, limit - got.length), pageToken });
          got.push(...r.devices);
          total = r.total;
          pageToken = r.nextPageToken;
        } while (pageToken !== "" && got.length < limit);
        const text = got.map((d) => `${d.id}  ${d.type || "-"}  ${d.enabled ? "enabled" : "disabled"}  ${labelText(d.labels)}  updated ${when(d.updatedAtMs)} by ${d.updatedBy}\n`).join("");
        out({ devices: got.map(deviceJson), total: Number(total) }, `${text}${got.length} of ${total} device(s)\n`);
      };
    }
    case "show":
      need(1, "one device id");
      return async (c, out) => {
        const r = await c.getDevice({ id });
        const d = r.device!;
        out(toJson(DeviceServiceGetDeviceResponseSchema, r), [`id           ${d.id}`, `type         ${d.type || "-"}`, `enabled      ${d.enabled}`, `labels       ${labelText(d.labels)}`, `created      ${when(d.createdAtMs)}`, `updated      ${when(d.updatedAtMs)} by ${d.updatedBy}`, `credentials  set ${when(d.credentialsRotatedAtMs)}`, `revision     ${d.revision}`, ""].join("\n"));
      };
    case "label": {
      if (args.length < 1) throw new UsageError("shoal devices label takes a device id, then k=v ... and/or --remove k");
      const setLabels = parseLabels(args.slice(1), "label");
      const removeLabels = o.remove ?? [];
      if (Object.keys(setLabels).length === 0 && removeLabels.length === 0 && o.type === undefined) throw new UsageError("shoal devices label: nothing to change (give k=v, --remove k or --type T)");
      return async (c, out) => {
        const r = await c.updateDevice({ id, setLabels, removeLabels, ...(o.type !== undefined ? { type: o.type } : {}) });
        out(deviceJson(r.device!), `device ${id}: ${labelText(r.device!.labels)}${r.device!.type ? ` (type ${r.device!.type})` : ""}\n`);
      };
    }
    case "enable":
    case "disable": {
      need(1, "one device id");
      const enabled = cmd === "enable";
      return async (c, out) => {
        const r = await c.setDeviceEnabled({ id, enabled, reason: o.reason ?? "" });
        out(deviceJson(r.device!), `device ${id} ${enabled ? "enabled" : "disabled"}\n`);
      };
    }
    case "rotate":
      need(1, "one device id");
      return async (c, out, io) => {
        const r = await c.rotateCredentials({ id });
        warnOnce(io, id);
        out(toJson(RotateCredentialsResponseSchema, r), `device ${id}: new credentials (the old password stops working now)\nusername ${r.credentials?.username}\npassword ${r.credentials?.password}\n`);
      };
    case "delete":
      need(1, "one device id");
      if (!o.yes) throw new UsageError(`shoal devices delete removes ${id} and its broker account: add --yes to confirm`);
      return async (c, out) => {
        await c.deleteDevice({ id });
        out({ deleted: id }, `device ${id} deleted (its stored readings stay)\n`);
      };
    case "import":
      need(1, "one CSV file (header id,type,labels; labels as k=v;k=v)");
      if (o.out !== undefined && existsSync(o.out)) throw new UsageError(`--out ${o.out} exists: name a new file (it is created with mode 0600)`);
      return async (c, _out, io) => importFile(c, args[0]!, o, io);
    default:
      throw new UsageError(`unknown command "${cmd}"`);
  }
}

/**
 * Rows per ImportDevices call (src/registry/csv.ts, shared with the console). Each new device costs
 * a scrypt hash (about 0.1 s on a busy 2-core host) and a call must end within the server's unary
 * timeout (query.timeout, 10 s by default), so a file goes in small calls; the whole file is
 * validated here first, so one bad row still imports nothing.
 */
export { IMPORT_CHUNK_ROWS };

/**
 * `import <file>`: the file checked as a whole (src/registry/csv.ts), then imported
 * {@link IMPORT_CHUNK_ROWS} rows per call. The created devices' credentials go out as CSV
 * (id,username,password) after each call — to stdout, or to `--out`, a new file created with mode
 * 0600 — so a failure part way loses no password already handed out; running the same import
 * again continues (registered ids are skipped). `--json`: one JSON document at the end.
 */
async function importFile(c: Client<typeof DeviceService>, file: string, o: DeviceOpValues, io: CommandIo): Promise<void> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`cannot read ${file}: ${errorMessage(e)}`);
  }
  const parsed = parseDeviceCsv(text);
  if (!parsed.ok) throw new Error(`${file}: line ${parsed.line}: ${parsed.message} (nothing was imported)`);
  if (parsed.rows.length === 0) throw new Error(`${file}: no devices (a header line id,type,labels and one row per device)`);
  // "wx": a new file only, so the mode is ours (an existing file would keep its own).
  const fd = o.out === undefined ? undefined : openSync(o.out, "wx", 0o600);
  const emit = (s: string) => (fd === undefined ? io.stdout(s) : void writeSync(fd, s));
  const devices: ImportedDevice[] = [];
  let created = 0;
  let warned = false;
  if (!o.json) emit("id,username,password\n");
  try {
    for (let i = 0; i < parsed.rows.length; i += IMPORT_CHUNK_ROWS) {
      const chunk = parsed.rows.slice(i, i + IMPORT_CHUNK_ROWS);
      let r;
      try {
        r = await c.importDevices({ csv: formatDeviceCsv(chunk) });
      } catch (e) {
        const where = o.out === undefined ? "printed above" : `in ${o.out}`;
        throw new Error(`stopped at line ${chunk[0]!.line} of ${file}: ${errorMessage(e)}\n${created} device(s) registered before it (credentials ${where}); run the same import again to go on (registered ids are skipped)`);
      }
      devices.push(...r.devices);
      created += r.created;
      if (fd === undefined && r.created > 0 && !warned) {
        warnOnce(io, "<id>");
        warned = true;
      }
      if (!o.json) emit(r.devices.filter((d) => !d.skipped).map((d) => `${d.id},${d.credentials?.username},${d.credentials?.password}\n`).join(""));
    }
  } finally {
    if (o.json) emit(`${JSON.stringify({ devices: devices.map((d) => toJson(ImportedDeviceSchema, d)), created, skipped: devices.length - created }, null, 2)}\n`);
    if (fd !== undefined) closeSync(fd);
    const skipped = devices.filter((d) => d.skipped).map((d) => d.id);
    const summary = `created ${created}, skipped ${skipped.length}${skipped.length > 0 ? ` (registered already: ${skipped.slice(0, 20).join(", ")}${skipped.length > 20 ? ", ..." : ""})` : ""}\n`;
    if (fd === undefined) io.stderr(summary);
    else io.stdout(`${summary}credentials of ${created} device(s) written to ${o.out} (mode 0600)\n`);
  }
}

/** The warning printed with every password: it is shown this once. */
function warnOnce(io: CommandIo, id: string): void {
  io.stderr(`warning: the password is shown only this once and Shoal keeps no readable copy: store it now (lost: shoal devices rotate ${id})\n`);
}

/** `k=v` items to labels; a usage error naming `what` for an item without `=` or a key given twice. */
export function parseLabels(items: readonly string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new UsageError(`${what} must be key=value, got ${JSON.stringify(item)}`);
    const k = item.slice(0, eq);
    if (Object.hasOwn(out, k)) throw new UsageError(`${what}: key ${k} given twice`);
    out[k] = item.slice(eq + 1);
  }
  return out;
}
