/**
 * The synthetic fleet of bench:query: `devices` devices with `perDevice` readings each, evenly over
 * `days` days ending at `endMs` (a reading every days·86 400 s / perDevice per device, each device at
 * its own phase with a few seconds of jitter), two metrics (temp, hum) with a daily cycle and noise,
 * and a few anomalies (a temperature spike with a score of 0.90–0.99, about one reading in 2 500)
 * for which an analyses row is made. Rows are produced time-major (every device's k-th reading,
 * then the (k+1)-th), as a live fleet inserts them, and encoded as RowBinary (READINGS_SCHEMA).
 */
import { RowBinaryWriter } from "../../../src/domain/row-binary.js";
import { ANALYSES_SCHEMA, DEVICE_EVENTS_SCHEMA, READINGS_SCHEMA } from "../../../src/domain/tables.js";
import type { Row } from "../../../src/ports/row-sink.js";

export interface DatasetSpec {
  readonly devices: number;
  readonly perDevice: number;
  readonly days: number;
  /** The newest reading is before this (ms). */
  readonly endMs: number;
  readonly seed: number;
}

const DAY = 86_400_000;
const METRICS = ["temp", "hum"];
/** Probability that a reading is an anomaly. */
const ANOMALY_P = 1 / 2500;

export const deviceId = (d: number) => `dev-${String(d).padStart(5, "0")}`;

/** mulberry32: a small fast seeded PRNG in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Roughly normal noise (sum of three uniforms, σ ≈ 1). */
const noise = (r: () => number) => (r() + r() + r() - 1.5) * 2;

interface DeviceParams {
  readonly id: string;
  readonly phaseMs: number;
  readonly tempBase: number;
  readonly tempAmp: number;
  readonly humBase: number;
}

export class Dataset {
  readonly stepMs: number;
  readonly startMs: number;
  private readonly params: DeviceParams[];
  private readonly r: () => number;
  private readonly writer = new RowBinaryWriter(READINGS_SCHEMA);
  private streamSeq = 0;
  /** Analyses rows of the anomalies generated so far (taken by `takeAnalyses`). */
  private analyses: Row[] = [];
  anomalies = 0;

  constructor(readonly spec: DatasetSpec) {
    this.stepMs = Math.floor((spec.days * DAY) / spec.perDevice);
    this.startMs = spec.endMs - spec.perDevice * this.stepMs;
    const pr = rng(spec.seed);
    this.params = Array.from({ length: spec.devices }, (_, d) => ({
      id: deviceId(d),
      phaseMs: Math.floor(pr() * (this.stepMs - 10_000)),
      tempBase: 18 + pr() * 8,
      tempAmp: 1.5 + pr() * 3.5,
      humBase: 40 + pr() * 20,
    }));
    this.r = rng(spec.seed ^ 0x5eed);
  }

  get totalRows(): number {
    return this.spec.devices * this.spec.perDevice;
  }

  /** Readings per device in one batch of about `batchRows` rows. */
  sliceOf(batchRows: number): number {
    return Math.max(1, Math.floor(batchRows / this.spec.devices));
  }

  /**
   * RowBinary of readings k in [k0, k1) of every device, as chunks of about `chunkRows` rows;
   * `pause` is awaited between chunks (lets an insert in flight send while this generates).
   */
  async readings(k0: number, k1: number, chunkRows: number, pause: () => Promise<void>): Promise<{ chunks: Uint8Array[]; rows: number; genMs: number }> {
    const chunks: Uint8Array[] = [];
    let rows: Row[] = [];
    let n = 0;
    let genMs = 0;
    let t = performance.now();
    const flush = async () => {
      const { binary, rejected } = this.writer.encode(rows);
      if (rejected.length > 0) throw new Error(`${rejected.length} rows did not fit READINGS_SCHEMA`);
      if (binary) chunks.push(...binary.chunks);
      n += rows.length;
      rows = [];
      genMs += performance.now() - t;
      await pause();
      t = performance.now();
    };
    for (let k = k0; k < Math.min(k1, this.spec.perDevice); k++) {
      for (let d = 0; d < this.params.length; d++) {
        rows.push(this.reading(this.params[d]!, k));
        if (rows.length >= chunkRows) await flush();
      }
    }
    await flush();
    return { chunks, rows: n, genMs };
  }

  private reading(p: DeviceParams, k: number): Row {
    const r = this.r;
    const ts = this.startMs + p.phaseMs + k * this.stepMs + Math.floor(r() * 5000);
    const day = ((ts % DAY) / DAY) * 2 * Math.PI;
    let temp = p.tempBase + p.tempAmp * Math.sin(day - 2) + noise(r) * 0.3;
    const hum = Math.min(100, Math.max(0, p.humBase - 2 * (temp - p.tempBase) + noise(r) * 1.5));
    let tempScore = Math.min(0.5, Math.abs(noise(r)) * 0.08);
    const humScore = Math.min(0.5, Math.abs(noise(r)) * 0.06);
    if (r() < ANOMALY_P) {
      temp += 8 + r() * 7;
      tempScore = 0.9 + r() * 0.09;
      this.anomalies++;
      this.analyses.push({
        device_id: p.id,
        epoch: 1,
        seq: k + 1,
        ts_ms: ts,
        metric: "temp",
        score: tempScore,
        summary: `temp jumped to ${temp.toFixed(1)} °C, ${(temp - p.tempBase).toFixed(1)} above its usual level`,
        likely_cause: "a heat source near the sensor or a failing sensor",
        suggested_action: "check the device's surroundings; replace the sensor if it repeats",
        provider: "local",
        model: "bench",
        prompt_version: "explain@v1",
        cached: 0,
        degraded: 0,
        cost_usd: 0,
        reasons: "",
        incident_epoch: 1,
        incident_seq: k + 1,
        incident_ts_ms: ts,
      });
    }
    return {
      device_id: p.id,
      epoch: 1,
      seq: k + 1,
      ts_ms: ts,
      metric_names: METRICS,
      metric_values: [temp, hum],
      metric_scores: [tempScore, humScore],
      score: Math.max(tempScore, humScore),
      log: "",
      stream_seq: ++this.streamSeq,
    };
  }

  /** Analyses rows of the anomalies generated since the last call, as RowBinary. */
  takeAnalyses(): { chunks: Uint8Array[]; rows: number } {
    const rows = this.analyses;
    this.analyses = [];
    return encode(ANALYSES_SCHEMA, rows);
  }

  /** One `online` event per device at its first reading, as RowBinary. */
  onlineEvents(): { chunks: Uint8Array[]; rows: number } {
    return encode(
      DEVICE_EVENTS_SCHEMA,
      this.params.map((p) => ({ device_id: p.id, kind: "online", epoch: 1, at_ms: this.startMs + p.phaseMs, last_seq: 0, detail: "first connection" })),
    );
  }
}

function encode(schema: typeof READINGS_SCHEMA, rows: Row[]): { chunks: Uint8Array[]; rows: number } {
  if (rows.length === 0) return { chunks: [], rows: 0 };
  const { binary, rejected } = new RowBinaryWriter(schema).encode(rows);
  if (rejected.length > 0) throw new Error(`${rejected.length} rows did not fit the schema`);
  return { chunks: [...binary!.chunks], rows: binary!.rows };
}
