/**
 * The watchers of bench:console's third target, as their own process (their CPU is not the
 * server's, and is measured apart): `--device` WatchDevice streams on `<prefix>-0 … <prefix>-(N-1)`,
 * (with `--coalesce-ms`, 100 as the console's device page asks), `--fleet` WatchFleet, `--cluster`
 * WatchCluster and `--alerts` WatchAlerts streams on the console's
 * gRPC-web port, each on its own HTTP/1.1 connection (as browser tabs hold them) and with its own
 * `shoal-caller` (each is one operator: the per-caller stream cap does not pool them).
 *
 * stdout, one JSON object per line: {"t":"opened", ...counts} once the streams are established,
 * then {"t":"counts", ...} for every "report" line on stdin; stdin closing ends every stream and
 * the process. Established: a Connect server sends a stream's headers with its first message, so
 * WatchFleet and WatchCluster (a snapshot at once) show theirs, while WatchDevice on a quiet device
 * and WatchAlerts without transitions show nothing until data comes: like the console's
 * useStream, those count as established once open 3 s without failing.
 */
import { parseArgs } from "node:util";
import { Agent } from "node:http";
import { createInterface } from "node:readline";
import { createClient, ConnectError } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-node";
import { QueryService } from "../../../src/gen/shoal/v1/query_pb.js";
import { AdminService } from "../../../src/gen/shoal/v1/admin_pb.js";
import { AlertService } from "../../../src/gen/shoal/v1/alert_pb.js";

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    prefix: { type: "string", default: "" },
    device: { type: "string", default: "100" },
    fleet: { type: "string", default: "50" },
    cluster: { type: "string", default: "25" },
    alerts: { type: "string", default: "25" },
    // WatchDevice's coalesce_ms, as the console's device page asks (src/console-app/hooks/use-device-live.ts).
    "coalesce-ms": { type: "string", default: "100" },
  },
});
if (values.url === undefined) throw new Error("--url is required");

type Kind = "device" | "fleet" | "cluster" | "alerts";
interface Watcher {
  readonly kind: Kind;
  opened: boolean;
  received: number;
  error: string | undefined;
}

// One connection per stream: HTTP/1.1 carries one request at a time.
const transport = createGrpcWebTransport({ baseUrl: values.url, httpVersion: "1.1", nodeOptions: { agent: new Agent({ keepAlive: false, maxSockets: Infinity }) } });
const query = createClient(QueryService, transport);
const admin = createClient(AdminService, transport);
const alerts = createClient(AlertService, transport);
const stops: AbortController[] = [];
let stopping = false;
const watchers: Watcher[] = [];

function start(kind: Kind, i: number): Promise<void> {
  const w: Watcher = { kind, opened: false, received: 0, error: undefined };
  watchers.push(w);
  const stop = new AbortController();
  stops.push(stop);
  const opts = { signal: stop.signal, headers: { "shoal-caller": `bench-${kind}-${i}` }, onHeader: () => (w.opened = true) };
  const stream: AsyncIterable<unknown> =
    kind === "device"
      ? query.watchDevice({ deviceId: `${values.prefix}-${i}`, coalesceMs: Number(values["coalesce-ms"]) }, opts)
      : kind === "fleet"
        ? query.watchFleet({ top: 10 }, opts)
        : kind === "cluster"
          ? admin.watchCluster({ intervalMs: 5000 }, opts)
          : alerts.watchAlerts({}, opts);
  return (async () => {
    try {
      for await (const _ of stream) w.received++;
      if (!stopping) w.error = "ended by the server";
    } catch (e) {
      if (!stopping) w.error = ConnectError.from(e).message.slice(0, 120);
    }
  })();
}

const counts = () => {
  const out: Record<string, { watchers: number; opened: number; received: number; withMessages: number; minReceived: number; maxReceived: number; errors: string[] }> = {};
  for (const kind of ["device", "fleet", "cluster", "alerts"] as const) {
    const ws = watchers.filter((w) => w.kind === kind);
    const errs = [...new Set(ws.map((w) => w.error).filter((e): e is string => e !== undefined))];
    out[kind] = {
      watchers: ws.length,
      opened: ws.filter((w) => w.opened).length,
      received: ws.reduce((a, w) => a + w.received, 0),
      withMessages: ws.filter((w) => w.received > 0).length,
      minReceived: ws.length > 0 ? Math.min(...ws.map((w) => w.received)) : 0,
      maxReceived: ws.length > 0 ? Math.max(...ws.map((w) => w.received)) : 0,
      errors: errs.map((e) => `${ws.filter((w) => w.error === e).length}× ${e}`),
    };
  }
  return out;
};
const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

const done: Promise<void>[] = [];
const n = (k: Kind) => Number(values[k]);
for (const kind of ["device", "fleet", "cluster", "alerts"] as const) for (let i = 0; i < n(kind); i++) done.push(start(kind, i));
// Those that send a snapshot at once show their headers; then 3 s for the others to fail if they would.
const deadline = Date.now() + 15_000;
const snapshotting = watchers.filter((w) => w.kind === "fleet" || w.kind === "cluster");
while (Date.now() < deadline && snapshotting.some((w) => !w.opened && w.error === undefined)) await new Promise((r) => setTimeout(r, 50));
await new Promise((r) => setTimeout(r, 3000));
out({ t: "opened", ...counts() });

for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === "report") out({ t: "counts", ...counts() });
}
stopping = true;
for (const s of stops) s.abort();
await Promise.all(done);
process.exit(0);
