/**
 * Device actor snapshots (docs/adr/0008-device-actor-memory.md).
 *
 * Version 9 (written while a pending anomaly window is a joined anomaly's): version 8 with a uint8
 *   after each pending anomaly window: 1 when its anomaly joined an incident an earlier one opened
 *   (DeviceState.pending, PW_JOINED), else 0.
 * Version 8 (written otherwise, so that a release before version 9 still reads all but the
 *   snapshots of devices in the midst of such an incident, as during a rolling upgrade; read with
 *   its pending windows as incidents' first anomalies): version 7 with each gap list (the current and the previous epoch's) holding
 *   ranges of missing seqs, float64 pairs [from, to), instead of single seqs (the gap count is the
 *   number of float64s: twice the ranges).
 * Version 7 (still read; its gap lists of single seqs become ranges): version 6 followed by the
 *   device-level model (src/detector/joint.ts): uint8 metrics it covers (0: none) + float64 ×
 *   jointSlots(that many). Detector scalars per metric are SAVED_SCALARS of this release (older versions hold SCALARS_BEFORE_7; the rest start as a fresh
 *   detector's).
 * Version 6 (still read; restored without a device-level model, which starts afresh): version 5
 *   followed by the device's alert state (actors/alert, the alert logic the device actor hosts):
 *   uint32 length (0: none) + that many bytes of its own codec.
 * Version 5 (still read; restored without alert state): version 4 followed by the anomaly windows waiting for readings after their
 *   anomaly (DeviceState.pending), oldest first: uint8 count (at most MAX_PENDING_WINDOWS); per
 *   window float64 epoch, seq, timestamp, score of the anomaly, uint16 metric index (in the order
 *   of the metrics above), uint16 readings of the metric still to come (≥ 1).
 * Version 4 (still read; restored with no pending anomaly window): binary, little-endian.
 *   "SD" 0x04, flags (bit 0: online); float64 hwm, gapsForgotten, applied, duplicates, lastTsMs,
 *   lastStreamSeq; uint32 lastSeenS; float64 epoch, boot, hwmTsMs, startTsMs, floor, jump,
 *   jumpHits (the sequence model, docs/adr/0011-sequence-model.md); uint32 gap count + float64
 *   gaps; uint8 1 if a previous epoch follows: float64 epoch, boot, hwm, hwmTsMs, startTsMs, floor,
 *   uint32 gap count + float64 gaps; uint32 count + float64 recent timestamps of readings without
 *   seq; uint16 metric count; per metric:
 *   uint16 name length + UTF-8 name; uint8 count + (uint8 index in PARAM_KEYS, float64 value) of
 *   the detector parameters that differ from the defaults; uint32 window size, held values, write
 *   position, updates since recomputation; float64 sum, sum of squares; float64 × held values;
 *   float64 × SAVED_SCALARS detector scalars; uint32 + float32 × n of the history ring's filled part;
 *   uint32 + float32 × n of the distance ring's filled part.
 *   Only filled parts are written, so equal states give equal bytes whatever their capacities.
 * Version 3 (still read): version 4 without the sequence model's epoch fields (restored as epoch 0,
 *   no boot number, the mark's timestamp taken as lastTsMs, gaps counted from 1).
 * Version 2 (still read): version 3 without lastSeenS (restored as 0: no early-timer guard).
 * Version 1 (still read): JSON `{v:1, …, m: {name: {r: rolling window, d: base64 detector state}}}`.
 */
import { decodeDetectorState, defaultDetectorParams, initScalars, jointSlots, PARAM_KEYS, resolveDetectorParams, ringFill, SAVED_SCALARS, SAVED_SCALARS_V2, SCALAR_SLOTS } from "../../src/detector/index.js";
import type { DetectorParams } from "../../src/detector/index.js";
import { gapRanges } from "./sequence-tracker.js";
import { MAX_PENDING_WINDOWS, newDeviceState, placeMetric, pushPending, PW, PW_EPOCH, PW_JOINED, PW_LEFT, PW_METRIC, PW_SCORE, PW_SEQ, PW_TS } from "./device-state.js";
import type { DeviceState, MetricParts, ModelTable } from "./device-state.js";
import { DeviceSnapshotError } from "./errors.js";
import { decodeAlerts, encodeAlerts } from "../alert/index.js";
import type { MetricArena } from "./metric-arena.js";
import { jointMetrics } from "./joint-store.js";
import { H_DET, H_MODEL, H_POS, H_SINCE, H_SQ, H_SUM, H_W, MH, ringSlots, windowSlots } from "./metric-store.js";
import type { RollingStatsData } from "./rolling-stats.js";

/** Newest version `encodeDeviceState` writes (it writes 8 while no pending window is a joined anomaly's). */
export const SNAPSHOT_VERSION = 9;
/** Detector scalars per metric in snapshots before version 7 (the detector's state version 2). */
const SCALARS_BEFORE_7 = SAVED_SCALARS_V2;
/** Bytes of one pending anomaly window (versions 5–8; version 9 adds the joined flag). */
const PENDING_BYTES = 4 * 8 + 2 + 2;
const EMPTY_BYTES = new Uint8Array(0);
const M0 = 0x53; // "S"
const M1 = 0x44; // "D"

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

/** Serialises `s` (version 8). `table` resolves the metrics' model indexes to parameters. */
export function encodeDeviceState(s: DeviceState, table: ModelTable): Uint8Array {
  const gaps = s.gaps ?? [];
  const names = s.names.map((n) => enc.encode(n));
  const overrides = s.names.map((_, i) => paramOverrides(table.models[s.f64[s.base + i * MH + H_MODEL]!]!.params));
  const prev = s.prev;
  const prevGaps = prev?.gaps ?? [];
  const seen = s.seen ?? [];
  const pending = s.pending ?? [];
  const windows = pending.length / PW;
  let version = 8;
  for (let w = 0; w < pending.length; w += PW) if (pending[w + PW_JOINED] === 1) version = 9;
  const alerts = s.alerts === undefined ? EMPTY_BYTES : encodeAlerts(s.alerts);
  const joint = s.joint;
  const jointK = joint === undefined ? 0 : jointMetrics(s.names.length);
  let size = 1 + (joint?.length ?? 0) * 8 + 4 + alerts.length + 4 + 6 * 8 + 4 + 7 * 8 + 4 + gaps.length * 8 + 1 + (prev ? 6 * 8 + 4 + prevGaps.length * 8 : 0) + 4 + seen.length * 8 + 2 + 1 + windows * (PENDING_BYTES + (version === 9 ? 1 : 0));
  const fills = s.names.map((_, i) => ringFill(table.models[s.f64[s.base + i * MH + H_MODEL]!]!.params, s.f64, s.base + i * MH + H_DET));
  for (let i = 0; i < names.length; i++) {
    size += 2 + names[i]!.length + 1 + overrides[i]!.length * 9 + 16 + 16 + windowSlots(s, i).length * 8 + SAVED_SCALARS * 8 + 8 + (fills[i]!.hist + fills[i]!.dists) * 4;
  }
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let at = 0;
  const u8 = (v: number) => dv.setUint8(at++, v);
  const u16 = (v: number) => ((dv.setUint16(at, v, true), (at += 2)));
  const u32 = (v: number) => ((dv.setUint32(at, v, true), (at += 4)));
  const f64 = (v: number) => ((dv.setFloat64(at, v, true), (at += 8)));
  const f32 = (v: number) => ((dv.setFloat32(at, v, true), (at += 4)));
  u8(M0);
  u8(M1);
  u8(version);
  u8(s.online ? 1 : 0);
  for (const v of [s.hwm, s.gapsForgotten, s.applied, s.duplicates, s.lastTsMs, s.lastStreamSeq]) f64(v);
  u32(s.lastSeenS);
  for (const v of [s.epoch, s.boot, s.hwmTsMs, s.startTsMs, s.floor, s.jump, s.jumpHits]) f64(v);
  u32(gaps.length);
  for (const g of gaps) f64(g);
  u8(prev ? 1 : 0);
  if (prev) {
    for (const v of [prev.epoch, prev.boot, prev.hwm, prev.hwmTsMs, prev.startTsMs, prev.floor]) f64(v);
    u32(prevGaps.length);
    for (const g of prevGaps) f64(g);
  }
  u32(seen.length);
  for (const t of seen) f64(t);
  u16(names.length);
  for (let i = 0; i < names.length; i++) {
    const o = s.base + i * MH;
    u16(names[i]!.length);
    out.set(names[i]!, at);
    at += names[i]!.length;
    u8(overrides[i]!.length);
    for (const [k, v] of overrides[i]!) {
      u8(k);
      f64(v);
    }
    const w = windowSlots(s, i);
    u32(s.f64[o + H_W]!);
    u32(w.length);
    u32(s.f64[o + H_POS]!);
    u32(s.f64[o + H_SINCE]!);
    f64(s.f64[o + H_SUM]!);
    f64(s.f64[o + H_SQ]!);
    for (let k = 0; k < w.length; k++) f64(w[k]!);
    for (let k = 0; k < SAVED_SCALARS; k++) f64(s.f64[o + H_DET + k]!);
    const rings = ringSlots(s, i, fills[i]!.hist, fills[i]!.dists);
    u32(rings.hist.length);
    for (let k = 0; k < rings.hist.length; k++) f32(rings.hist[k]!);
    u32(rings.dists.length);
    for (let k = 0; k < rings.dists.length; k++) f32(rings.dists[k]!);
  }
  u8(windows);
  for (let w = 0; w < pending.length; w += PW) {
    for (const k of [PW_EPOCH, PW_SEQ, PW_TS, PW_SCORE]) f64(pending[w + k]!);
    u16(pending[w + PW_METRIC]!);
    u16(pending[w + PW_LEFT]!);
    if (version === 9) u8(pending[w + PW_JOINED]!);
  }
  u32(alerts.length);
  out.set(alerts, at);
  at += alerts.length;
  u8(jointK);
  if (joint !== undefined) for (let k = 0; k < joint.length; k++) f64(joint[k]!);
  if (at !== size) throw new Error(`device snapshot size ${at} != computed ${size}`);
  return out;
}

/** (index in PARAM_KEYS, value) of the parameters that differ from the defaults. */
function paramOverrides(p: DetectorParams): [number, number][] {
  const out: [number, number][] = [];
  PARAM_KEYS.forEach((k, i) => {
    if (!Object.is(p[k], defaultDetectorParams[k])) out.push([i, p[k]]);
  });
  return out;
}

/**
 * Rebuilds a device state from a version-5, 4, 3, 2 or 1 snapshot (before 5: no pending anomaly
 * window). Rolling windows take the current `windowSize`. Throws DeviceSnapshotError naming what is wrong.
 */
export function decodeDeviceState(bytes: Uint8Array, id: string, windowSize: number, table: ModelTable, arena: MetricArena): DeviceState {
  const s = newDeviceState(id);
  try {
    return decodeInto(s, bytes, windowSize, table, arena);
  } catch (err) {
    arena.release(s); // a half-built state: its block goes back
    throw err;
  }
}

function decodeInto(s: DeviceState, bytes: Uint8Array, windowSize: number, table: ModelTable, arena: MetricArena): DeviceState {
  const id = s.id;
  if (bytes.length >= 3 && bytes[0] === M0 && bytes[1] === M1) {
    const version = bytes[2]!;
    if (version < 2 || version > SNAPSHOT_VERSION) throw new DeviceSnapshotError(`device snapshot of ${id}: unsupported version ${version}, expected 1 to ${SNAPSHOT_VERSION}`);
    try {
      return decodeBinary(s, bytes, version, windowSize, table, arena);
    } catch (err) {
      if (err instanceof DeviceSnapshotError) throw err;
      throw new DeviceSnapshotError(`device snapshot of ${id} is corrupt: ${(err as Error).message}`, { cause: err });
    }
  }
  if (bytes.length > 0 && bytes[0] === 0x7b) return decodeV1(s, bytes, windowSize, table, arena); // "{"
  throw new DeviceSnapshotError(`device snapshot of ${id}: neither version ${SNAPSHOT_VERSION} ("SD") nor version 1 (JSON)`);
}

function decodeBinary(s: DeviceState, bytes: Uint8Array, version: number, windowSize: number, table: ModelTable, arena: MetricArena): DeviceState {
  const id = s.id;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 3;
  const u8 = () => dv.getUint8(at++);
  const u16 = () => ((at += 2), dv.getUint16(at - 2, true));
  const u32 = () => ((at += 4), dv.getUint32(at - 4, true));
  const f64 = () => ((at += 8), dv.getFloat64(at - 8, true));
  const f64s = (n: number) => Float64Array.from({ length: n }, f64);
  const f32s = (n: number) => Float32Array.from({ length: n }, () => ((at += 4), dv.getFloat32(at - 4, true)));
  const online = (u8() & 1) === 1;
  const [hwm, gapsForgotten, applied, duplicates, lastTsMs, lastStreamSeq] = f64s(6);
  s.lastSeenS = version >= 3 ? u32() : 0;
  const counted = (what: string) => {
    const n = u32();
    if (n * 8 > bytes.length - at) throw new DeviceSnapshotError(`device snapshot of ${id}: ${n} ${what} do not fit in ${bytes.length} bytes`);
    return Array.from(f64s(n));
  };
  if (version >= 4) [s.epoch, s.boot, s.hwmTsMs, s.startTsMs, s.floor, s.jump, s.jumpHits] = f64s(7) as unknown as number[];
  else migrateSequence(s, hwm!, lastTsMs!);
  /** A gap list: ranges from version 8, single seqs before. */
  const gapList = (what: string) => {
    const g = counted(what);
    if (version < 8) return gapRanges(g);
    if (g.length % 2 !== 0) throw new DeviceSnapshotError(`device snapshot of ${id}: ${what} hold ${g.length} numbers, not [from, to) pairs`);
    return g;
  };
  const gaps = gapList("gaps");
  if (version >= 4) {
    if (u8() === 1) {
      const [epoch, boot, phwm, hwmTsMs, startTsMs, floor] = f64s(6);
      const pg = gapList("gaps of the previous epoch");
      s.prev = { epoch: epoch!, boot: boot!, hwm: phwm!, hwmTsMs: hwmTsMs!, startTsMs: startTsMs!, floor: floor!, gaps: pg.length > 0 ? pg : null };
    }
    const seen = counted("timestamps");
    s.seen = seen.length > 0 ? seen : null;
  }
  s.hwm = hwm!;
  s.gaps = gaps.length > 0 ? gaps : null;
  s.gapsForgotten = gapsForgotten!;
  s.applied = applied!;
  s.duplicates = duplicates!;
  s.lastTsMs = lastTsMs!;
  s.lastStreamSeq = lastStreamSeq!;
  s.online = online;
  const k = u16();
  for (let i = 0; i < k; i++) {
    const nameLen = u16();
    const name = dec.decode(bytes.subarray(at, at + nameLen));
    at += nameLen;
    const raw: Record<string, number> = {};
    for (let c = u8(); c > 0; c--) {
      const key = PARAM_KEYS[u8()];
      const v = f64();
      if (key === undefined) throw new DeviceSnapshotError(`device snapshot of ${id}: metric ${name} has an unknown detector parameter`);
      raw[key] = v;
    }
    let params: DetectorParams;
    try {
      params = resolveDetectorParams(raw as Partial<DetectorParams>);
    } catch (err) {
      throw new DeviceSnapshotError(`device snapshot of ${id}: metric ${name} has invalid detector parameters`, { cause: err });
    }
    const savedW = u32();
    const n = u32();
    const pos = u32();
    const since = u32();
    const sum = f64();
    const sumSq = f64();
    if (n > savedW || (n * 8 > bytes.length - at)) throw new DeviceSnapshotError(`device snapshot of ${id}: metric ${name} holds ${n} values in a window of ${savedW}`);
    const window = f64s(n);
    const scalars = version >= 7 ? f64s(SAVED_SCALARS) : olderScalars(f64s(SCALARS_BEFORE_7));
    const hist = f32s(u32());
    const dists = f32s(u32());
    const fill = ringFill(params, scalars, 0);
    if (hist.length !== fill.hist || dists.length !== fill.dists) {
      throw new DeviceSnapshotError(`device snapshot of ${id}: metric ${name} rings hold ${hist.length}/${dists.length} values, its counters say ${fill.hist}/${fill.dists}`);
    }
    placeMetric(s, table, arena, { name, params, window, pos, sums: { sum, sumSq, since }, scalars, hist, dists }, windowSize);
  }
  if (version >= 5) {
    const windows = u8();
    if (windows > MAX_PENDING_WINDOWS) throw new DeviceSnapshotError(`device snapshot of ${id}: ${windows} pending anomaly windows, at most ${MAX_PENDING_WINDOWS}`);
    for (let w = 0; w < windows; w++) {
      const [epoch, seq, tsMs, score] = f64s(4);
      const metric = u16();
      const left = u16();
      const joined = version >= 9 ? u8() : 0;
      if (metric >= k || left < 1 || joined > 1) throw new DeviceSnapshotError(`device snapshot of ${id}: pending anomaly window of metric ${metric} (of ${k}) waits for ${left} readings (joined ${joined})`);
      pushPending(s, epoch!, seq!, tsMs!, metric, score!, left, joined === 1 ? 1 : 0);
    }
  }
  if (version >= 6) {
    const n = u32();
    if (n > 0) {
      if (at + n > bytes.length) throw new DeviceSnapshotError(`device snapshot of ${id}: alert state of ${n} bytes is truncated`);
      try {
        s.alerts = decodeAlerts(bytes.subarray(at, at + n));
      } catch (err) {
        throw new DeviceSnapshotError(`device snapshot of ${id}: alert state: ${(err as Error).message}`, { cause: err });
      }
      at += n;
    }
  }
  if (version >= 7) {
    const jk = u8();
    if (jk > 0) {
      if (jk !== jointMetrics(k)) throw new DeviceSnapshotError(`device snapshot of ${id}: a device-level model of ${jk} metrics for ${k} metrics`);
      const n = jointSlots(jk);
      if (n * 8 > bytes.length - at) throw new DeviceSnapshotError(`device snapshot of ${id}: device-level model of ${n} values is truncated`);
      s.joint = f64s(n);
    }
  }
  if (at !== bytes.length) throw new DeviceSnapshotError(`device snapshot of ${id}: ${bytes.length - at} trailing bytes`);
  return s;
}

/** A metric's detector scalars saved before version 7, completed with a fresh detector's for the slots added since. */
function olderScalars(saved: Float64Array): Float64Array {
  if (saved.length >= SAVED_SCALARS) return saved;
  const all = new Float64Array(SCALAR_SLOTS);
  initScalars(all, 0);
  all.set(saved);
  return all.subarray(0, SAVED_SCALARS);
}

/** The sequence model of a snapshot written before epochs (version 3 and older): epoch 0, gaps from 1. */
function migrateSequence(s: DeviceState, hwm: number, lastTsMs: number): void {
  s.hwmTsMs = lastTsMs;
  s.floor = hwm > 0 ? 1 : 0;
}

/** Version 1 (JSON + base64 detector states), as written before ADR 0008. */
interface StateDataV1 {
  v: 1;
  hwm: number;
  gaps: number[] | null;
  gf: number;
  applied: number;
  dup: number;
  lastTsMs: number;
  lss: number;
  online: boolean;
  m: Record<string, { r: RollingStatsData; d: string }>;
}

function decodeV1(s: DeviceState, bytes: Uint8Array, windowSize: number, table: ModelTable, arena: MetricArena): DeviceState {
  const id = s.id;
  let d: StateDataV1;
  try {
    d = JSON.parse(dec.decode(bytes)) as StateDataV1;
  } catch (err) {
    throw new DeviceSnapshotError(`device snapshot of ${id}: version 1 is not valid JSON`, { cause: err });
  }
  if (d.v !== 1) throw new DeviceSnapshotError(`device snapshot of ${id}: unsupported version ${String(d.v)}`);
  s.hwm = d.hwm;
  migrateSequence(s, d.hwm, d.lastTsMs);
  s.gaps = d.gaps === null ? null : gapRanges(d.gaps);
  s.gapsForgotten = d.gf;
  s.applied = d.applied;
  s.duplicates = d.dup;
  s.lastTsMs = d.lastTsMs;
  s.lastStreamSeq = d.lss;
  s.online = d.online;
  for (const [name, v] of Object.entries(d.m)) {
    const det = decodeDetectorState(base64ToBytes(v.d));
    const fill = ringFill(det.params, det.scalars, 0);
    const r = v.r;
    // Version 1 kept `n` values of `w`; sums only when written by a version that had them.
    const held = Math.min(r.n, r.w.length);
    const exact = held === r.n && typeof r.s === "number";
    const parts: MetricParts = {
      name,
      params: det.params,
      window: r.w.slice(0, held),
      pos: r.p,
      sums: exact ? { sum: r.s, sumSq: r.q, since: r.r } : undefined,
      scalars: det.scalars,
      hist: det.hist.subarray(0, fill.hist),
      dists: det.dists.subarray(0, fill.dists),
    };
    placeMetric(s, table, arena, parts, windowSize);
  }
  return s;
}

function base64ToBytes(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
