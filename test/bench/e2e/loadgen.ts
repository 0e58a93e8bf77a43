/**
 * Load generator of bench:e2e, run as its own process (outside every Shoal process): `devices`
 * devices publish readings over MQTT 5 QoS 1 at an aggregate `rate` readings/s for `seconds`,
 * spread over `conns` connections (device d always on connection d % conns, so its readings keep
 * their order), at most `window` unacknowledged publishes per connection. With `batch` > 1 each
 * MQTT message carries that many readings of one device (`{"deviceId","readings":[...]}`).
 * Every reading's tsMs is its publish time.
 *
 * stdout, one JSON object per line: {"t":"tick", sec, sent, acked} every second (readings),
 * {"t":"timeline", bucketMs, published:[cumulative readings per bucket]} and {"t":"done", sent,
 * acked, unacked, disconnects, elapsedMs} at the end.
 */
import mqtt, { type MqttClient } from "mqtt";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    devices: { type: "string", default: "1000" },
    rate: { type: "string", default: "5000" },
    seconds: { type: "string", default: "20" },
    conns: { type: "string", default: "4" },
    window: { type: "string", default: "1000" },
    batch: { type: "string", default: "1" },
    prefix: { type: "string", default: "lg" },
    "ack-wait": { type: "string", default: "30000" },
  },
});
const D = Number(values.devices);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const CONNS = Number(values.conns);
const WINDOW = Number(values.window);
const BATCH = Math.max(1, Number(values.batch));
const BUCKET_MS = 10;

const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
const clients: MqttClient[] = [];
let disconnects = 0;
for (let c = 0; c < CONNS; c++) {
  const cl = await mqtt.connectAsync(values.url!, { clientId: `${values.prefix}-lg-${process.pid}-${c}`, protocolVersion: 5, clean: true, reconnectPeriod: 1000, keepalive: 30 });
  cl.on("close", () => disconnects++);
  clients.push(cl);
}
const inflight = new Array<number>(CONNS).fill(0);
const seqs = new Uint32Array(D);
let sent = 0;
let acked = 0;
let failed = 0;
const published: number[] = [];
const t0 = Date.now();
const end = t0 + SECONDS * 1000;
let lastTick = t0;
let tickSec = 0;

function publishOne(d: number): boolean {
  const c = d % CONNS;
  if (inflight[c]! >= WINDOW) return false;
  const id = `${values.prefix}-${d}`;
  const now = Date.now();
  let payload: string;
  if (BATCH === 1) {
    const seq = ++seqs[d]!;
    payload = `{"deviceId":"${id}","seq":${seq},"tsMs":${now},"metrics":{"temp":${(20 + ((seq * 7) % 50) / 10).toFixed(1)},"hum":${40 + (seq % 13)}}}`;
  } else {
    const parts: string[] = [];
    for (let i = 0; i < BATCH; i++) {
      const seq = ++seqs[d]!;
      parts.push(`{"seq":${seq},"tsMs":${now},"metrics":{"temp":${(20 + ((seq * 7) % 50) / 10).toFixed(1)},"hum":${40 + (seq % 13)}}}`);
    }
    payload = `{"deviceId":"${id}","readings":[${parts.join(",")}]}`;
  }
  inflight[c]!++;
  sent += BATCH;
  clients[c]!.publish(`devices/${id}/readings`, payload, { qos: 1 }, (err) => {
    inflight[c]!--;
    if (err) failed += BATCH;
    else acked += BATCH;
  });
  return true;
}

// Pace: every 5 ms publish what the schedule owes, devices round robin.
let next = 0;
while (Date.now() < end) {
  const now = Date.now();
  const due = Math.floor(((now - t0) / 1000) * RATE) - sent;
  let budget = Math.floor(due / BATCH);
  let blocked = 0;
  while (budget > 0 && blocked < CONNS) {
    if (publishOne(next)) budget--;
    else blocked++;
    next = (next + 1) % D;
  }
  const b = Math.floor((now - t0) / BUCKET_MS);
  while (published.length <= b) published.push(sent);
  published[b] = sent;
  if (now - lastTick >= 1000) {
    lastTick += 1000;
    out({ t: "tick", sec: ++tickSec, sent, acked });
  }
  await new Promise((r) => setTimeout(r, 5));
}
const elapsedMs = Date.now() - t0;
const ackDeadline = Date.now() + Number(values["ack-wait"]);
while (acked + failed < sent && Date.now() < ackDeadline) {
  await new Promise((r) => setTimeout(r, 50));
  if (Date.now() - lastTick >= 1000) {
    lastTick += 1000;
    out({ t: "tick", sec: ++tickSec, sent, acked });
  }
}
out({ t: "timeline", bucketMs: BUCKET_MS, startMs: t0, published });
out({ t: "done", sent, acked, failed, unacked: sent - acked - failed, disconnects, elapsedMs });
await Promise.all(clients.map((c) => c.endAsync()));
process.exit(0);
