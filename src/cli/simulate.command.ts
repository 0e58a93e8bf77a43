import { parseArgs } from "node:util";
import { UsageError, type CommandIo } from "./io.js";
import { simulate } from "../simulator/simulator.js";

/** `shoal simulate --devices N --rate R --duration S [--url mqtt://…] [--format json|protobuf|mixed]`. */
export async function run(argv: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      devices: { type: "string", default: "100" },
      rate: { type: "string", default: "1000" },
      duration: { type: "string", default: "10" },
      url: { type: "string", default: io.env.SHOAL__MQTT__URL ?? "mqtt://127.0.0.1:11883" },
      format: { type: "string", default: "json" },
      prefix: { type: "string", default: "dev" },
      "seq-start": { type: "string", default: "1" },
      "anomaly-rate": { type: "string", default: "0.002" },
    },
  });
  const num = (name: string, v: string, min: number): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new UsageError(`--${name}: must be a number ≥ ${min}, got "${v}"`);
    return n;
  };
  const format = values.format;
  if (format !== "json" && format !== "protobuf" && format !== "mixed") throw new UsageError(`--format: must be json, protobuf or mixed, got "${format}"`);
  const stats = await simulate({
    url: values.url,
    devices: Math.floor(num("devices", values.devices, 1)),
    rate: num("rate", values.rate, 0.001),
    durationSec: num("duration", values.duration, 0),
    format,
    devicePrefix: values.prefix,
    seqStart: Math.floor(num("seq-start", values["seq-start"], 1)),
    anomalyRate: num("anomaly-rate", values["anomaly-rate"], 0),
    onProgress: (s) => io.stderr(`\rsent ${s.sent} acked ${s.acked} failed ${s.failed} anomalies ${s.anomaliesInjected}   `),
  });
  io.stderr("\n");
  io.stdout(`${JSON.stringify(stats)}\n`);
  return stats.failed === 0 ? 0 : 1;
}
