import mqtt, { type MqttClient } from "mqtt";
import { create, toBinary } from "@bufbuild/protobuf";
import { ReadingSchema } from "../gen/shoal/v1/reading_pb.js";
import { createDeviceSignals } from "./signals.js";
import { sleep } from "../base/clock.js";

/** What to simulate. */
export interface SimulateOptions {
  /** MQTT broker URL. */
  readonly url: string;
  readonly devices: number;
  /** Total readings per second across all devices. */
  readonly rate: number;
  /** Stop after this many seconds (unless readingsPerDevice is reached first). */
  readonly durationSec?: number;
  /** Stop after every device has sent this many readings. */
  readonly readingsPerDevice?: number;
  /** MQTT connections to spread devices over. Default 2. */
  readonly connections?: number;
  /** Unacknowledged QoS 1 publishes per connection. Default 500. */
  readonly maxInFlight?: number;
  /** First sequence number of every device. Default 1. */
  readonly seqStart?: number;
  /** Device id prefix: ids are `<prefix>-<n>`. Default "dev". */
  readonly devicePrefix?: string;
  /** Probability per reading that an anomaly starts. Default 0.002. */
  readonly anomalyRate?: number;
  /** Payload encoding. Default "json"; "mixed" alternates JSON and protobuf. */
  readonly format?: "json" | "protobuf" | "mixed";
  /** Called with live counts about every 250 ms. */
  readonly onProgress?: (s: SimulateStats) => void;
  /** Called for every acknowledged publish with its device, seq and publish time (ms). */
  readonly onPublished?: (deviceId: string, seq: number, sentAtMs: number) => void;
  readonly signal?: AbortSignal;
}

export interface SimulateStats {
  sent: number;
  acked: number;
  failed: number;
  anomaliesInjected: number;
  elapsedMs: number;
}

/** Simulate devices publishing readings over MQTT QoS 1; resolves when done and every publish settled. */
export async function simulate(o: SimulateOptions): Promise<SimulateStats> {
  const nConn = Math.max(1, Math.min(o.connections ?? 2, o.devices));
  const maxInFlight = o.maxInFlight ?? 500;
  const prefix = o.devicePrefix ?? "dev";
  const seqStart = o.seqStart ?? 1;
  const clients: MqttClient[] = [];
  for (let i = 0; i < nConn; i++) {
    clients.push(await mqtt.connectAsync(o.url, { clientId: `${prefix}-sim-${process.pid}-${i}`, protocolVersion: 5, clean: true, reconnectPeriod: 500 }));
  }
  const devices = Array.from({ length: o.devices }, (_, i) => ({
    id: `${prefix}-${i + 1}`,
    seq: seqStart - 1,
    gen: createDeviceSignals(i * 7919 + 17, o.anomalyRate ?? 0.002),
    conn: i % nConn,
  }));
  const stats: SimulateStats = { sent: 0, acked: 0, failed: 0, anomaliesInjected: 0, elapsedMs: 0 };
  const inFlight = new Array<number>(nConn).fill(0);
  const started = Date.now();
  const total = o.readingsPerDevice !== undefined ? o.readingsPerDevice * o.devices : Infinity;
  const deadline = o.durationSec !== undefined ? started + o.durationSec * 1000 : Infinity;
  let next = 0;
  let lastProgress = 0;
  let waiters: Array<() => void> = [];
  const release = () => {
    for (const w of waiters.splice(0)) w();
  };

  while (stats.sent < total && Date.now() < deadline && !o.signal?.aborted) {
    const allowed = Math.min(total, Math.floor(((Date.now() - started) / 1000) * o.rate) + 1);
    if (stats.sent >= allowed) {
      await sleep(Math.max(1, Math.min(10, 1000 / o.rate)));
    } else {
      const d = devices[next]!;
      if (inFlight[d.conn]! >= maxInFlight) {
        await new Promise<void>((r) => waiters.push(r));
        continue;
      }
      next = (next + 1) % devices.length;
      d.seq++;
      const metrics = d.gen.next();
      const ts = Date.now();
      const useProto = o.format === "protobuf" || (o.format === "mixed" && d.seq % 2 === 0);
      const payload = useProto
        ? Buffer.from(toBinary(ReadingSchema, create(ReadingSchema, { deviceId: d.id, seq: BigInt(d.seq), tsMs: BigInt(ts), metrics })))
        : JSON.stringify({ deviceId: d.id, seq: d.seq, tsMs: ts, metrics });
      const seq = d.seq;
      inFlight[d.conn]!++;
      stats.sent++;
      clients[d.conn]!.publish(`devices/${d.id}/readings`, payload, { qos: 1 }, (err) => {
        inFlight[d.conn]!--;
        if (err) stats.failed++;
        else {
          stats.acked++;
          o.onPublished?.(d.id, seq, ts);
        }
        release();
      });
    }
    if (o.onProgress && Date.now() - lastProgress >= 250) {
      lastProgress = Date.now();
      stats.anomaliesInjected = devices.reduce((a, d) => a + d.gen.injected, 0);
      stats.elapsedMs = Date.now() - started;
      o.onProgress({ ...stats });
    }
  }
  while (stats.acked + stats.failed < stats.sent) await new Promise<void>((r) => waiters.push(r));
  waiters = [];
  await Promise.all(clients.map((c) => c.endAsync()));
  stats.anomaliesInjected = devices.reduce((a, d) => a + d.gen.injected, 0);
  stats.elapsedMs = Date.now() - started;
  o.onProgress?.({ ...stats });
  return stats;
}


