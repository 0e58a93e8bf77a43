import mqtt, { type MqttClient } from "mqtt";
import { createDeviceSignals } from "./signals.js";
import { sleep } from "../base/clock.js";
import { createFleetDevice, drainBacklog, fleetOptionsProblem, measure, type CounterMix, type FleetDevice, type MeasureResult } from "./fleet.js";
import { payloadsFor, type Outgoing, type PayloadOptions } from "./payloads.js";
import { startCommandResponder } from "./command-responder.js";

/** What to simulate. The fleet behaviours (reboots, offline periods, counter widths) are all off by default. */
export interface SimulateOptions {
  /** MQTT broker URL. */
  readonly url: string;
  readonly devices: number;
  /** Total readings measured per second across all devices. */
  readonly rate: number;
  /**
   * The rate from now on, asked about every pass of the send loop; `rate` when absent or undefined.
   * A change applies to the readings not yet measured (a test that streams slowly while something
   * happens can finish quickly after it). Offline periods stay measured in `rate`'s nominal time.
   */
  readonly pace?: () => number | undefined;
  /** Stop after this many seconds (unless readingsPerDevice is reached first). */
  readonly durationSec?: number;
  /** Stop after every device has measured this many readings. */
  readonly readingsPerDevice?: number;
  /** MQTT connections to spread devices over. Default 2. */
  readonly connections?: number;
  /** Unacknowledged QoS 1 publishes per connection. Default 500. */
  readonly maxInFlight?: number;
  /** First sequence number of every device. Default 1. */
  readonly seqStart?: number;
  /** Device id prefix: ids are `<prefix>-<n>` (see counterPrefixes). Default "dev". */
  readonly devicePrefix?: string;
  /** Probability per reading that an anomaly starts. Default 0.002. */
  readonly anomalyRate?: number;
  /** Payload encoding. Default "json"; "mixed" alternates JSON and protobuf. */
  readonly format?: "json" | "protobuf" | "mixed";
  /** Probability per device per second of a reboot: the counter starts again (1, or 0 when wrapping). Default 0. */
  readonly rebootRate?: number;
  /** With reboots, the fraction of devices that send a boot number (1, incremented at each reboot). Default 0.5. */
  readonly bootFraction?: number;
  /** Probability per device per second of going offline: readings are buffered, then flushed on return. Default 0. */
  readonly offlineRate?: number;
  /** Offline period length in seconds (of nominal measurement time: offlineSec × devices / rate readings). Default 60. */
  readonly offlineSec?: number;
  /** Send a flushed backlog as JSON batch payloads (≤ 500 readings, ≤ flushBatchMaxBytes each). Default false. */
  readonly flushAsBatch?: boolean;
  /** Most bytes of one batch payload (the bridge's default maxPayload). Default 16384. */
  readonly flushBatchMaxBytes?: number;
  /** Fractions of devices without counter or with 8/16/32-bit wrapping counters (see counterKindOf). Default none. */
  readonly counterMix?: CounterMix;
  /** Name devices by counter kind: `<prefix>-s8-<n>`, `-s16-`, `-s32-`, `-nc-` (unbounded: `<prefix>-<n>`). Default false. */
  readonly counterPrefixes?: boolean;
  /** Seed of the reboot and offline decisions: the same options make the same decisions. Default 1. */
  readonly seed?: number;
  /** Called with live counts about every 250 ms. */
  readonly onProgress?: (s: SimulateStats) => void;
  /** Called for every acknowledged reading (once per reading of a batch payload). */
  readonly onPublished?: (r: PublishedReading) => void;
  /** Devices carry out commands sent to them and reply ok (src/simulator/command-responder.ts). Default false. */
  readonly answerCommands?: boolean;
  /** MQTT credentials (a gateway account: it publishes for every simulated device). */
  readonly username?: string;
  readonly password?: string;
  /**
   * TLS of an `mqtts://` url: the CA that verifies the broker and, for a broker with
   * require_certificate, the client certificate (PEM contents; `shoal simulate --ca/--cert/--key`
   * reads the files with src/adapters/mqtt/tls-options.ts).
   */
  readonly tls?: { readonly ca?: Buffer; readonly cert?: Buffer; readonly key?: Buffer; readonly servername?: string; readonly rejectUnauthorized?: boolean };
  readonly signal?: AbortSignal;
}

/** An acknowledged reading: seq 0 when the device has no counter, boot undefined when it sends none. */
export interface PublishedReading {
  readonly deviceId: string;
  readonly seq: number;
  readonly boot: number | undefined;
  readonly tsMs: number;
  readonly sentAtMs: number;
}

/** Counts of a run; sent, acked and failed count readings (a batch payload counts each reading in it). */
export interface SimulateStats {
  sent: number;
  acked: number;
  failed: number;
  anomaliesInjected: number;
  reboots: number;
  offlinePeriods: number;
  /** Readings currently held by offline devices. */
  buffered: number;
  /** Readings sent from backlogs. */
  flushed: number;
  /** Publishes sent again because the broker answered PUBACK 0x10 (no matching subscribers: not delivered). */
  resent: number;
  elapsedMs: number;
}

/** Stats of a run that has not started (all zero). */
export function emptySimulateStats(): SimulateStats {
  return { sent: 0, acked: 0, failed: 0, anomaliesInjected: 0, reboots: 0, offlinePeriods: 0, buffered: 0, flushed: 0, resent: 0, elapsedMs: 0 };
}

interface SimDevice {
  readonly fleet: FleetDevice;
  readonly gen: ReturnType<typeof createDeviceSignals>;
  readonly conn: number;
}

/** Fold one measurement into the stats. */
function account(stats: SimulateStats, m: MeasureResult): void {
  if (m.rebooted) stats.reboots++;
  if (m.wentOffline) stats.offlinePeriods++;
  stats.flushed += m.flushed.length;
  stats.buffered += (m.live === undefined ? 1 : 0) - m.flushed.length;
}

/**
 * Simulate devices publishing readings over MQTT QoS 1; resolves when done and every publish settled.
 * At the end of a run (not on abort) devices still offline come back and flush their backlog.
 */
export async function simulate(o: SimulateOptions): Promise<SimulateStats> {
  const problem = fleetOptionsProblem(o);
  if (problem !== undefined) throw new RangeError(`simulate: ${problem}`);
  const nConn = Math.max(1, Math.min(o.connections ?? 2, o.devices));
  const maxInFlight = o.maxInFlight ?? 500;
  const prefix = o.devicePrefix ?? "dev";
  const clients: MqttClient[] = [];
  // PUBACK reason codes by message id (mqtt.js resolves a publish on any reason below 0x80).
  const pubackReasons: Array<Map<number, number>> = [];
  for (let i = 0; i < nConn; i++) {
    const c = await mqtt.connectAsync(o.url, { clientId: `${prefix}-sim-${process.pid}-${i}`, protocolVersion: 5, clean: true, reconnectPeriod: 500, username: o.username, password: o.password, ...o.tls });
    const reasons = new Map<number, number>();
    c.on("packetreceive", (p) => {
      if (p.cmd === "puback" && p.messageId !== undefined && p.reasonCode !== undefined && p.reasonCode !== 0) reasons.set(p.messageId, p.reasonCode);
    });
    clients.push(c);
    pubackReasons.push(reasons);
  }
  const fleetOptions = { ...o, devicePrefix: prefix, intervalSec: o.devices / o.rate };
  const devices: SimDevice[] = Array.from({ length: o.devices }, (_, i) => ({
    fleet: createFleetDevice(i, fleetOptions),
    gen: createDeviceSignals(i * 7919 + 17, o.anomalyRate ?? 0.002),
    conn: i % nConn,
  }));
  const responders = o.answerCommands ? await Promise.all(clients.map((c, i) => startCommandResponder(c, devices.filter((d) => d.conn === i).map((d) => d.fleet.id)))) : [];
  const payloadOptions: PayloadOptions = { format: o.format ?? "json", flushAsBatch: o.flushAsBatch ?? false, batchMaxBytes: o.flushBatchMaxBytes };
  const stats = emptySimulateStats();
  const inFlight = new Array<number>(nConn).fill(0);
  const started = Date.now();
  const total = o.readingsPerDevice !== undefined ? o.readingsPerDevice * o.devices : Infinity;
  const deadline = o.durationSec !== undefined ? started + o.durationSec * 1000 : Infinity;
  let measured = 0;
  let next = 0;
  let lastProgress = 0;
  let waiters: Array<() => void> = [];
  const release = () => {
    for (const w of waiters.splice(0)) w();
  };
  const released = () => new Promise<void>((r) => waiters.push(r));
  let finishing = false;
  const publish = (d: SimDevice, out: Outgoing) => {
    const sentAtMs = Date.now();
    inFlight[d.conn]!++;
    stats.sent += out.readings.length;
    send(d, out, sentAtMs);
  };
  // The device contract (docs/input-contract.md): PUBACK 0x10 "no matching subscribers" is not a
  // delivery (e.g. a restarted broker before the bridge subscribed again): send it again shortly.
  const send = (d: SimDevice, out: Outgoing, sentAtMs: number): void => {
    clients[d.conn]!.publish(`devices/${d.fleet.id}/readings`, out.payload, { qos: 1 }, (err, packet) => {
      const id = packet?.messageId;
      const reason = id === undefined ? undefined : pubackReasons[d.conn]!.get(id);
      if (id !== undefined && reason !== undefined) pubackReasons[d.conn]!.delete(id);
      const notDelivered = !err && reason === 0x10;
      if (notDelivered && !finishing && o.signal?.aborted !== true) {
        stats.resent++;
        setTimeout(() => send(d, out, sentAtMs), 200);
        return;
      }
      inFlight[d.conn]!--;
      if (err || notDelivered) stats.failed += out.readings.length;
      else {
        stats.acked += out.readings.length;
        for (const r of out.readings) o.onPublished?.({ deviceId: d.fleet.id, seq: r.seq ?? 0, boot: r.boot, tsMs: r.tsMs, sentAtMs });
      }
      release();
    });
  };
  const sendAll = async (d: SimDevice, outs: readonly Outgoing[]) => {
    for (const out of outs) {
      while (inFlight[d.conn]! >= maxInFlight) await released();
      publish(d, out);
    }
  };
  const snapshot = () => {
    stats.anomaliesInjected = devices.reduce((a, d) => a + d.gen.injected, 0);
    stats.elapsedMs = Date.now() - started;
    return { ...stats };
  };

  // Readings allowed by now: `paceBase` by `paceFrom`, then `rate` per second (a pace change starts a new segment).
  let rate = o.rate;
  let paceFrom = started;
  let paceBase = 0;
  // A pace that is not a positive rate ends the run: it settles what was sent, then throws this.
  let paceError: RangeError | undefined;
  while (measured < total && Date.now() < deadline && !o.signal?.aborted) {
    const now = Date.now();
    const wanted = o.pace?.() ?? o.rate;
    if (wanted !== rate) {
      if (!(wanted > 0)) {
        paceError = new RangeError(`simulate: pace gave ${wanted} readings/s (must be > 0)`);
        break;
      }
      paceBase += ((now - paceFrom) / 1000) * rate;
      paceFrom = now;
      rate = wanted;
    }
    const allowed = Math.min(total, Math.floor(paceBase + ((now - paceFrom) / 1000) * rate) + 1);
    if (measured >= allowed) {
      await sleep(Math.max(1, Math.min(10, 1000 / rate)));
    } else {
      const d = devices[next]!;
      if (inFlight[d.conn]! >= maxInFlight) {
        await released();
        continue;
      }
      next = (next + 1) % devices.length;
      const metrics = d.gen.next();
      const m = measure(d.fleet, Date.now(), metrics);
      measured++;
      account(stats, m);
      await sendAll(d, payloadsFor(d.fleet.id, m, payloadOptions));
    }
    if (o.onProgress && Date.now() - lastProgress >= 250) {
      lastProgress = Date.now();
      o.onProgress(snapshot());
    }
  }
  for (const d of o.signal?.aborted ? [] : devices) {
    if (d.fleet.backlog.length === 0) continue;
    const flushed = drainBacklog(d.fleet);
    stats.flushed += flushed.length;
    stats.buffered -= flushed.length;
    await sendAll(d, payloadsFor(d.fleet.id, { flushed, live: undefined }, payloadOptions));
  }
  // From here a PUBACK 0x10 is a failure, not a reason to send again (no bridge may ever come).
  finishing = true;
  while (stats.acked + stats.failed < stats.sent) await released();
  waiters = [];
  await Promise.all(responders.map((r) => r.stop()));
  await Promise.all(clients.map((c) => c.endAsync()));
  if (paceError !== undefined) throw paceError;
  const final = snapshot();
  o.onProgress?.(final);
  return final;
}
