// bench:e2e's command line: parsed and checked once, before any service starts.
import { parseArgs } from "node:util";

/** One alternative of the --env setting written K=A|B (undefined: the run has no alternatives). */
export type Variant = { readonly key: string; readonly value: string } | undefined;
/** A run's name: the shape, and the alternative it ran with. */
export const runName = (shape: string, v: Variant) => `shoal ${shape}${v === undefined ? "" : ` ${v.key.replace(/^SHOAL__/, "")}=${v.value}`}`;

/** The bench's options from argv (and SHOAL_PEER_HARNESS); prints the help and exits on --help. */
export function benchOptions() {
  const { values } = parseArgs({
    options: {
      rates: { type: "string", default: "5000,10000,20000" },
      shapes: { type: "string", default: "up,split" },
      duration: { type: "string", default: "20" },
      batch: { type: "string", default: "1" },
      devices: { type: "string", default: "1000" },
      peers: { type: "string", default: "" },
      overload: { type: "string" },
      "ch-outage": { type: "string" },
      outage: { type: "string", default: "60" },
      env: { type: "string", default: "" },
      rounds: { type: "string", default: "1" },
      "nats-nodes": { type: "string", default: "1" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(`npm run bench:e2e -- [options]
  --rates R1,R2,...   offered readings/s, one run per rate and shape (default 5000,10000,20000)
  --shapes up,split   shoal up (one process) and/or bridge + runtime processes (default up,split);
                      mqtt-only: the load generator, Mosquitto and a subscriber that only acknowledges
                      (no pipeline: the MQTT leg's own cost, the ceiling of any pipeline here)
  --duration S        seconds measured per run, after a 3 s warm-up (default 20)
  --batch N           readings per MQTT message (default 1)
  --devices N         simulated devices (default 1000)
  --nats-nodes 1|3    the journal on one nats-server, or on a three-node JetStream cluster with nats.replicas 3 (default 1)
  --env "K=V K=V"     extra SHOAL__* settings for Shoal's processes; one of them may list alternatives,
                      K=A|B|C: each Shoal run is made once per alternative, back to back (a row each)
  --rounds N          in a sweep, the runs of each rate N times over, interleaved (default 1)
  --overload R        one run at R/s printing rows per second, event-loop lag, MQTT disconnects
  --ch-outage R       ClickHouse stopped 20 s into the run for --outage s: memory, loss, catch-up time
  --outage S          seconds ClickHouse stays stopped in a --ch-outage run (default 60)
  --peers b-raw,a     side-by-side peers (needs SHOAL_PEER_HARNESS)`);
    process.exit(0);
  }
  const natsNodes = Number(values["nats-nodes"]);
  if (natsNodes !== 1 && natsNodes !== 3) throw new Error("--nats-nodes is 1 or 3");
  const duration = Number(values.duration);
  const batch = Number(values.batch);
  const devices = Number(values.devices);
  const outageS = Number(values.outage);
  if (!(outageS > 0)) throw new Error("--outage is a number of seconds > 0");
  const shapes = values.shapes.split(",").filter(Boolean) as ("up" | "split" | "mqtt-only")[];
  for (const s of shapes) if (s !== "up" && s !== "split" && s !== "mqtt-only") throw new Error(`--shapes: up, split or mqtt-only, got ${s}`);
  const envPairs = values.env.split(/\s+/).filter(Boolean).map((kv) => {
    const at = kv.indexOf("=");
    if (at <= 0) throw new Error(`--env: expected K=V, got ${kv}`);
    return [kv.slice(0, at), kv.slice(at + 1)] as const;
  });
  const extraEnv = Object.fromEntries(envPairs.filter(([, v]) => !v.includes("|")));
  /** The alternatives of the one --env setting written K=A|B: each Shoal run is made once per alternative. */
  const varied = envPairs.filter(([, v]) => v.includes("|"));
  if (varied.length > 1) throw new Error(`--env: only one setting may list alternatives, got ${varied.map(([k]) => k).join(", ")}`);
  const variants: Variant[] = varied.length === 0 ? [undefined] : varied[0]![1].split("|").map((value) => ({ key: varied[0]![0], value }));
  const rounds = Number(values.rounds);
  if (!(Number.isInteger(rounds) && rounds >= 1)) throw new Error("--rounds is a whole number ≥ 1");
  const peerDir = process.env["SHOAL_PEER_HARNESS"];
  const peers = values.peers.split(",").filter(Boolean);
  if (peers.length > 0 && !peerDir) throw new Error("--peers needs SHOAL_PEER_HARNESS (a writable copy of the side-by-side harness with npm ci done)");
  if (peers.length > 0 && natsNodes !== 1) throw new Error("--peers runs on one nats-server: leave --nats-nodes at 1");
  const overload = values.overload === undefined ? undefined : Number(values.overload);
  const chOutage = values["ch-outage"] === undefined ? undefined : Number(values["ch-outage"]);
  const rates = values.rates.split(",").map(Number);
  return { duration, batch, devices, outageS, natsNodes, shapes, extraEnv, variants, rounds, peers, peerDir, rates, overload, chOutage };
}
