import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { ProcWatch } from "./procstat.js";
import { spawnLoadgen } from "./run.js";

const SUBSCRIBER = fileURLToPath(new URL("./null-subscriber.ts", import.meta.url));

/** What one `mqtt-only` run measured. */
export interface MqttOnlyResult {
  readonly acked: number;
  readonly publishedPerSec: number;
  /** Messages the null subscriber received per second of the publishing window, in readings. */
  readonly receivedPerSec: number;
  /** Acknowledged readings the subscriber had not received when it stopped (0 when none were lost). */
  readonly missing: number;
  /** CPU µs per acknowledged reading: Mosquitto, the null subscriber, the load generator. */
  readonly cpuUs: ReadonlyMap<string, number>;
}

/**
 * The MQTT leg alone (bench:e2e `--shapes mqtt-only`): the load generator publishes as in every
 * other run, Mosquitto delivers to the null subscriber (null-subscriber.ts), which acknowledges at
 * once. No JetStream, no ClickHouse, no Shoal: whatever a pipeline does with a reading comes on
 * top of these costs, on the same 2 cores.
 */
export async function mqttOnlyRun(o: { mqttUrl: string; mosquittoPid: number | undefined; rate: number; seconds: number; devices: number; batch: number; prefix: string }): Promise<MqttOnlyResult> {
  const sub = spawn(process.execPath, ["--import", "tsx", SUBSCRIBER, o.mqttUrl], { stdio: ["ignore", "pipe", "inherit"] });
  let received = 0;
  const subReady = new Promise<void>((resolve, reject) => {
    sub.once("exit", (code) => reject(new Error(`null subscriber exited (${code}) before it was ready`)));
    createInterface({ input: sub.stdout! }).on("line", (l) => (l === "ready" ? resolve() : (received = Number(l))));
  });
  try {
    await subReady;
    const lg = spawnLoadgen(o);
    const procs = new Map<string, number>([["null subscriber", sub.pid!], ["loadgen", lg.pid!]]);
    if (o.mosquittoPid !== undefined) procs.set("mosquitto", o.mosquittoPid);
    const watch = new ProcWatch(procs);
    watch.start();
    let done: { acked: number; elapsedMs: number } | undefined;
    let receivedAtEnd = 0;
    let startReceived = 0;
    createInterface({ input: lg.stdout! }).on("line", (l) => {
      const m = JSON.parse(l) as { t: string; sec?: number; acked: number; elapsedMs: number };
      if (m.t === "tick" && m.sec === 1) startReceived = received;
      if (m.t === "tick" && m.sec === o.seconds) receivedAtEnd = received;
      if (m.t === "done") done = m;
    });
    await new Promise<void>((resolve) => lg.once("exit", () => resolve()));
    watch.stop();
    if (done === undefined) throw new Error("load generator ended without its summary");
    // The subscriber prints every 250 ms: wait for it to report what was acknowledged.
    const deadline = Date.now() + 5000;
    while (received * o.batch < done.acked && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const cpuUs = new Map(watch.names.map((n) => [n, (watch.cpuMs(n) * 1000) / Math.max(1, done!.acked)] as const));
    return {
      acked: done.acked,
      publishedPerSec: done.acked / (done.elapsedMs / 1000),
      receivedPerSec: ((receivedAtEnd - startReceived) * o.batch) / Math.max(1, o.seconds - 1),
      missing: Math.max(0, done.acked - received * o.batch),
      cpuUs,
    };
  } finally {
    sub.kill();
  }
}
