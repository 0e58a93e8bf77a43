import { Kvm } from "@nats-io/kv";
import { decodeSnapshot, encodeSnapshot } from "../../src/adapters/nats/kv-snapshot-store.js";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { JournalPublisher } from "../../src/adapters/nats/journal-publisher.js";
import { encodeReading } from "../../src/domain/reading-codec.js";
import { partitionOf } from "../../src/domain/partition.js";
import { readingSubject } from "../../src/domain/subjects.js";
import { createDeviceSignals } from "../../src/simulator/signals.js";
import { sleep } from "../../src/base/clock.js";

/** One journal message as the bridge would publish it. */
export interface JournalEntry {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly msgId: string;
}

/**
 * A deterministic journal: `rounds` readings of every device (ids `<prefix><d>`, simulator signals
 * seeded `d * seedStep + seedOffset` with `anomalyRate`), round by round, as the bridge publishes them.
 */
export function syntheticJournal(o: { devices: number; rounds: number; partitions: number; prefix: string; seedStep: number; seedOffset: number; anomalyRate: number }): JournalEntry[] {
  const gens = Array.from({ length: o.devices }, (_, d) => createDeviceSignals(d * o.seedStep + o.seedOffset, o.anomalyRate));
  const out: JournalEntry[] = [];
  for (let r = 1; r <= o.rounds; r++) {
    for (let d = 0; d < o.devices; d++) {
      const deviceId = `${o.prefix}${d}`;
      const reading = { deviceId, seq: r, tsMs: 1_764_000_000_000 + r * 1000, metrics: gens[d]!.next() };
      out.push({ subject: readingSubject(partitionOf(deviceId, o.partitions), deviceId), data: encodeReading(reading), msgId: `${deviceId}:${r}` });
    }
  }
  return out;
}

/** Publish `msgs` in order (pipelined), optionally pausing `pace.ms` every `pace.every` messages. */
export async function publishJournal(nc: NatsConnection, msgs: readonly JournalEntry[], pace?: { every: number; ms: number }): Promise<void> {
  const pub = JournalPublisher.create(nc, 512);
  const inflight: Promise<unknown>[] = [];
  let i = 0;
  for (const m of msgs) {
    inflight.push(pub.publish(m.subject, m.data, m.msgId));
    if (pace && ++i % pace.every === 0) await sleep(pace.ms);
  }
  await Promise.all(inflight);
}

/** Every device actor snapshot in the KV bucket, base64 by key (for byte-for-byte comparison). */
/**
 * A device snapshot's KV value with its `lastSeenS` zeroed: the runtime-clock second a reading was
 * applied differs between two runs by design (version 3 onwards: uint32 after the "SD" header and six
 * float64 counters, i.e. at state offset 52); everything else must be byte-identical.
 */
function withoutClockTime(value: Uint8Array): Uint8Array {
  const snap = decodeSnapshot(value);
  const st = snap.state;
  if (st.length >= 56 && st[0] === 0x53 && st[1] === 0x44 && st[2] >= 3) st.fill(0, 52, 56);
  return encodeSnapshot(snap);
}

export async function deviceSnapshots(url: string, bucket: string): Promise<Map<string, string>> {
  const nc = await connect({ servers: url });
  try {
    const kv = await new Kvm(nc).open(bucket);
    const out = new Map<string, string>();
    for await (const k of await kv.keys("a.device.>")) {
      const e = await kv.get(k);
      if (e) out.set(k, Buffer.from(withoutClockTime(e.value)).toString("base64"));
    }
    return out;
  } finally {
    await nc.close();
  }
}
