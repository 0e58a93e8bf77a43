// bench:runtime's bridge rows: the CPU the bridge spends per reading between an MQTT payload and
// the bytes of its journal message, on one thread (docs/adr/0009, "The bridge's encoding").
import { decodeReadings, defaultReadingLimits } from "../../src/domain/reading-codec.js";
import { encodeReadingBatchWire, encodeReadingWire, ReadingBatchWriter } from "../../src/domain/reading-wire-write.js";
import type { Reading } from "../../src/ports/reading.js";
import { fmt, median, REPEAT, row } from "./runtime-bench-common.js";

const DEVICES = 1000;
const PER_PAYLOAD = 50;
const TS0 = 1_765_000_000_000;

/** ns per reading of `each` over `readings` readings (median of REPEAT runs, after one warm-up run). */
function time(readings: number, each: () => number): number {
  const runs: number[] = [];
  let sink = 0;
  for (let r = 0; r <= REPEAT; r++) {
    const t = process.hrtime.bigint();
    sink += each();
    if (r > 0) runs.push(Number(process.hrtime.bigint() - t) / readings);
  }
  if (sink < 0) console.log(sink);
  return median(runs);
}

export function benchBridge(): void {
  const enc = new TextEncoder();
  const payloads = Array.from({ length: DEVICES }, (_, d) =>
    enc.encode(
      JSON.stringify({
        deviceId: `dev-${d}`,
        readings: Array.from({ length: PER_PAYLOAD }, (_, i) => ({ seq: i + 1, tsMs: TS0 + i * 1000, metrics: { temperature: 21.5 + i / 7, humidity: 40 + d / 3, pressure: 1013.25 } })),
      }),
    ),
  );
  const decoded: Reading[][] = payloads.map((p, d) => {
    const r = decodeReadings(p, `dev-${d}`, defaultReadingLimits);
    if (!r.ok) throw new Error(r.reason);
    return r.readings;
  });
  const n = DEVICES * PER_PAYLOAD;
  // Each payload's readings into one journal message, as the bridge batches a partition's readings.
  const writer = () => {
    let bytes = 0;
    for (const rs of decoded) {
      const w = new ReadingBatchWriter();
      for (const r of rs) w.add(r);
      bytes += w.bytes().length;
    }
    return bytes;
  };
  // The encoder before it: an array per reading, copied into the batch.
  const perReading = () => {
    let bytes = 0;
    for (const rs of decoded) bytes += encodeReadingBatchWire(rs.map(encodeReadingWire)).length;
    return bytes;
  };
  const decode = () => {
    let k = 0;
    for (let d = 0; d < DEVICES; d++) {
      const r = decodeReadings(payloads[d]!, `dev-${d}`, defaultReadingLimits);
      if (r.ok) k += r.readings.length;
    }
    return k;
  };
  const tWriter = time(n, writer);
  const tPer = time(n, perReading);
  const tDecode = time(n, decode);
  row("bridge: encode into the journal message (3 metrics, 50 per message)", `${tWriter.toFixed(0)} ns/reading`, `(an array per reading, then copied: ${tPer.toFixed(0)} ns)`);
  row("bridge: decode + validate a JSON payload of 50 readings", `${tDecode.toFixed(0)} ns/reading`, `(${fmt(1e9 / (tDecode + tWriter))} readings/s per thread with the encoding)`);
}
