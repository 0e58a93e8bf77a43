import { parseArgs } from "node:util";
import { UsageError, type CommandIo } from "./io.js";
import { simulate } from "../simulator/simulator.js";
import { counterMixProblem, type CounterMix } from "../simulator/fleet.js";
import { localStackDir, readLocalBrokerCredentials } from "./local-credentials.js";
import { mqttTlsOptions } from "../adapters/mqtt/tls-options.js";

const MIX_KEYS: Record<string, keyof CounterMix> = { none: "none", "8": "bits8", "16": "bits16", "32": "bits32" };

/** `--counter-mix none=0.01,8=0.01,16=0,32=0`: fractions of devices per counter kind (the rest unbounded). */
export function parseCounterMix(v: string): CounterMix {
  const mix: Partial<Record<keyof CounterMix, number>> = {};
  for (const part of v.split(",").filter((p) => p.trim() !== "")) {
    const [k = "", f = "", ...extra] = part.split("=").map((s) => s.trim());
    const key = MIX_KEYS[k];
    const n = Number(f);
    if (key === undefined || extra.length > 0 || f === "") throw new UsageError(`--counter-mix: expected kind=fraction with kind none, 8, 16 or 32, got "${part}"`);
    if (!Number.isFinite(n) || n < 0 || n > 1) throw new UsageError(`--counter-mix: ${k} must be a fraction between 0 and 1, got "${f}"`);
    mix[key] = n;
  }
  const problem = counterMixProblem(mix);
  if (problem !== undefined) throw new UsageError(`--counter-mix: ${problem}`);
  return mix;
}

/**
 * `shoal simulate --devices N --rate R --duration S [--url mqtt://…] [--format json|protobuf|mixed]
 * [--reboot-rate P] [--boot-fraction F] [--offline-rate P] [--offline-sec S] [--flush-as-batch]
 * [--counter-mix none=F,8=F,16=F,32=F] [--counter-prefixes] [--seed N] [--answer-commands]
 * [--username U --password P] [--ca FILE [--cert FILE --key FILE] [--server-name NAME]]`: --ca etc.
 * for an `mqtts://` --url (the broker's TLS listener; docs/tls.md "MQTT"). Without --username, the local stack's simulator account is used
 * when it has one (.shoal/stack/mosquitto/credentials.json); SHOAL_MQTT_PASSWORD may carry the password.
 */
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
      "reboot-rate": { type: "string", default: "0" },
      "boot-fraction": { type: "string", default: "0.5" },
      "offline-rate": { type: "string", default: "0" },
      "offline-sec": { type: "string", default: "60" },
      "flush-as-batch": { type: "boolean", default: false },
      "counter-mix": { type: "string" },
      "counter-prefixes": { type: "boolean", default: false },
      seed: { type: "string", default: "1" },
      "answer-commands": { type: "boolean", default: false },
      username: { type: "string" },
      password: { type: "string", default: io.env.SHOAL_MQTT_PASSWORD },
      ca: { type: "string", default: "" },
      cert: { type: "string", default: "" },
      key: { type: "string", default: "" },
      "server-name": { type: "string", default: "" },
    },
  });
  const num = (name: string, v: string, min: number, max = Infinity): number => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
      throw new UsageError(`--${name}: must be a number ${max === Infinity ? `≥ ${min}` : `between ${min} and ${max}`}, got "${v}"`);
    }
    return n;
  };
  const format = values.format;
  if (format !== "json" && format !== "protobuf" && format !== "mixed") throw new UsageError(`--format: must be json, protobuf or mixed, got "${format}"`);
  const seed = num("seed", values.seed, -(2 ** 31), 2 ** 32 - 1);
  if (!Number.isInteger(seed)) throw new UsageError(`--seed: must be an integer, got "${values.seed}"`);
  const offlineSec = num("offline-sec", values["offline-sec"], 0);
  if (offlineSec <= 0) throw new UsageError(`--offline-sec: must be a positive number of seconds, got "${values["offline-sec"]}"`);
  const account = values.username !== undefined ? { username: values.username, password: values.password ?? "" } : readLocalBrokerCredentials(localStackDir(io.env))?.simulator;
  if (values.ca !== "" && !/^(mqtts|ssl|wss):/i.test(values.url)) throw new UsageError(`--ca: needs an mqtts:// --url (the broker's TLS listener), got "${values.url}"`);
  const tls = mqttTlsOptions(values.url, { caFile: values.ca, certFile: values.cert, keyFile: values.key, serverName: values["server-name"], rejectUnauthorized: true });
  const stats = await simulate({
    url: values.url,
    tls,
    ...(account ? { username: account.username, password: account.password } : {}),
    answerCommands: values["answer-commands"],
    devices: Math.floor(num("devices", values.devices, 1)),
    rate: num("rate", values.rate, 0.001),
    durationSec: num("duration", values.duration, 0),
    format,
    devicePrefix: values.prefix,
    seqStart: Math.floor(num("seq-start", values["seq-start"], 1)),
    anomalyRate: num("anomaly-rate", values["anomaly-rate"], 0),
    rebootRate: num("reboot-rate", values["reboot-rate"], 0, 1),
    bootFraction: num("boot-fraction", values["boot-fraction"], 0, 1),
    offlineRate: num("offline-rate", values["offline-rate"], 0, 1),
    offlineSec,
    flushAsBatch: values["flush-as-batch"],
    counterMix: values["counter-mix"] === undefined ? undefined : parseCounterMix(values["counter-mix"]),
    counterPrefixes: values["counter-prefixes"],
    seed,
    onProgress: (s) =>
      io.stderr(`\rsent ${s.sent} acked ${s.acked} failed ${s.failed} anomalies ${s.anomaliesInjected} reboots ${s.reboots} offline ${s.offlinePeriods} buffered ${s.buffered} flushed ${s.flushed} resent ${s.resent}   `),
  });
  io.stderr("\n");
  io.stdout(`${JSON.stringify(stats)}\n`);
  return stats.failed === 0 ? 0 : 1;
}
