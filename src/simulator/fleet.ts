/**
 * Per-device behaviour of the simulated fleet, pure and driven by the caller's clock: counters of
 * several widths (or none), reboots (the counter starts again; some devices carry a boot number),
 * and offline periods (readings are buffered, then flushed in order when the device comes back).
 * Decisions come from a seeded per-device PRNG and are taken per measurement, so a run with the same
 * options makes the same decisions whatever the interleaving of devices or the broker's speed.
 */
import { prng } from "./signals.js";

/** How a device counts its readings: no counter, an 8/16/32-bit wrapping counter, or 1, 2, 3… unbounded. */
export type CounterKind = "none" | "bits8" | "bits16" | "bits32" | "unbounded";

/** Fractions of devices per counter kind (each in [0, 1], sum ≤ 1); the rest count unbounded. */
export interface CounterMix {
  readonly none?: number;
  readonly bits8?: number;
  readonly bits16?: number;
  readonly bits32?: number;
}

const MIX_ORDER = ["none", "bits8", "bits16", "bits32"] as const;
const ID_INFIX: Record<CounterKind, string> = { unbounded: "", bits8: "s8-", bits16: "s16-", bits32: "s32-", none: "nc-" };
const MODULUS: Partial<Record<CounterKind, number>> = { bits8: 2 ** 8, bits16: 2 ** 16, bits32: 2 ** 32 };
const KIND_SALT = 0x5eed_c0de;
const BOOT_SALT = 0x0b00_7ed5;

/** murmur3's 32-bit finalizer: a well-mixed 32-bit hash of a 32-bit integer. */
export function mix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A uniform number in [0, 1) fixed by (deviceIndex, salt). */
function unitOf(deviceIndex: number, salt: number): number {
  return mix32(mix32(deviceIndex) ^ salt) / 4294967296;
}

/** Why `mix` is not a valid counter mix, or undefined when it is. */
export function counterMixProblem(mix: CounterMix): string | undefined {
  let sum = 0;
  for (const k of MIX_ORDER) {
    const f = mix[k] ?? 0;
    if (!Number.isFinite(f) || f < 0 || f > 1) return `${k}: must be a fraction between 0 and 1, got ${f}`;
    sum += f;
  }
  return sum > 1 + 1e-9 ? `fractions add up to ${sum}, more than 1` : undefined;
}

/**
 * The counter kind of device `deviceIndex` (0-based: device `<prefix>-1` is index 0) under `mix`.
 * Deterministic from the index alone (a hash, no seed), so a platform test can configure matching
 * per-device counter widths.
 */
export function counterKindOf(deviceIndex: number, mix: CounterMix): CounterKind {
  const u = unitOf(deviceIndex, KIND_SALT);
  let edge = 0;
  for (const k of MIX_ORDER) {
    edge += mix[k] ?? 0;
    if (u < edge) return k;
  }
  return "unbounded";
}

/** Whether device `deviceIndex` sends an explicit boot number (a `fraction` of devices do; deterministic from the index). */
export function carriesBoot(deviceIndex: number, fraction: number): boolean {
  return unitOf(deviceIndex, BOOT_SALT) < fraction;
}

/**
 * Device id: `<prefix>-<n>` (n = index + 1), or with `counterPrefixes` one naming the kind:
 * `<prefix>-s8-<n>`, `<prefix>-s16-<n>`, `<prefix>-s32-<n>`, `<prefix>-nc-<n>` (unbounded: `<prefix>-<n>`).
 */
export function deviceIdOf(prefix: string, deviceIndex: number, kind: CounterKind, counterPrefixes: boolean): string {
  return `${prefix}-${counterPrefixes ? ID_INFIX[kind] : ""}${deviceIndex + 1}`;
}

/** The counter value after `prev`: +1, wrapping to 0 past the width; undefined for a device without counter. */
export function nextSeq(kind: CounterKind, prev: number): number | undefined {
  if (kind === "none") return undefined;
  const m = MODULUS[kind];
  return m === undefined ? prev + 1 : (prev + 1) % m;
}

/** Probability that an event of `perSec` probability per second happens within `intervalSec`. */
export function perInterval(perSec: number, intervalSec: number): number {
  if (perSec <= 0) return 0;
  if (perSec >= 1) return 1;
  return 1 - Math.pow(1 - perSec, intervalSec);
}

/** How a fleet behaves (all off by default: every device counts 1, 2, 3… live). */
export interface FleetOptions {
  /** Device id prefix. Default "dev". */
  readonly devicePrefix?: string;
  /** First sequence number of every device (unbounded counters; wrapping ones take it modulo their width). Default 1. */
  readonly seqStart?: number;
  /** Nominal seconds between two measurements of one device (devices / total rate). Default 1. */
  readonly intervalSec?: number;
  /** Probability per device per second of a reboot. Default 0. */
  readonly rebootRate?: number;
  /** Fraction of devices carrying a boot number (only with rebootRate > 0). Default 0.5. */
  readonly bootFraction?: number;
  /** Probability per device per second of going offline. Default 0. */
  readonly offlineRate?: number;
  /** Length of an offline period in seconds (of nominal measurement time). Default 60. */
  readonly offlineSec?: number;
  /** Counter kinds of the devices. Default: all unbounded. */
  readonly counterMix?: CounterMix;
  /** Name devices by counter kind (see {@link deviceIdOf}). Default false. */
  readonly counterPrefixes?: boolean;
  /** PRNG seed of reboot and offline decisions. Default 1. */
  readonly seed?: number;
}

/** One measured reading. `ordinal`: the device's measurement number counted from seqStart (picks the format of "mixed"). */
export interface FleetReading {
  readonly ordinal: number;
  /** Absent for a device without counter. */
  readonly seq?: number;
  /** Absent for a device without boot number. */
  readonly boot?: number;
  readonly tsMs: number;
  readonly metrics: Record<string, number>;
}

/** A simulated device's state (mutated by {@link measure} and {@link drainBacklog}). */
export interface FleetDevice {
  readonly index: number;
  readonly id: string;
  readonly kind: CounterKind;
  readonly rnd: () => number;
  readonly pReboot: number;
  readonly pOffline: number;
  /** Measurements an offline period lasts. */
  readonly offlineSteps: number;
  /** Measurements taken. */
  measured: number;
  ordinal: number;
  /** Last counter value sent (the one before the first reading at start). */
  seq: number;
  boot: number | undefined;
  lastTsMs: number;
  /** Measurements left offline (0: online). */
  offlineLeft: number;
  backlog: FleetReading[];
  reboots: number;
  offlinePeriods: number;
}

/** A device of the fleet, ready for its first measurement. */
export function createFleetDevice(index: number, o: FleetOptions = {}): FleetDevice {
  const kind = o.counterMix === undefined ? "unbounded" : counterKindOf(index, o.counterMix);
  const seqStart = o.seqStart ?? 1;
  const m = MODULUS[kind];
  const intervalSec = o.intervalSec ?? 1;
  const rebootRate = o.rebootRate ?? 0;
  return {
    index,
    id: deviceIdOf(o.devicePrefix ?? "dev", index, kind, o.counterPrefixes ?? false),
    kind,
    rnd: prng(mix32((o.seed ?? 1) ^ mix32(index + 1))),
    pReboot: perInterval(rebootRate, intervalSec),
    pOffline: perInterval(o.offlineRate ?? 0, intervalSec),
    offlineSteps: Math.max(1, Math.round((o.offlineSec ?? 60) / intervalSec)),
    measured: 0,
    ordinal: seqStart - 1,
    seq: m === undefined ? seqStart - 1 : (((seqStart - 1) % m) + m) % m,
    boot: rebootRate > 0 && carriesBoot(index, o.bootFraction ?? 0.5) ? 1 : undefined,
    lastTsMs: -Infinity,
    offlineLeft: 0,
    backlog: [],
    reboots: 0,
    offlinePeriods: 0,
  };
}

/** What one measurement produced: readings to send now (a flushed backlog first, in order) and what happened. */
export interface MeasureResult {
  /** Backlog flushed now (the device came back online), oldest first. */
  readonly flushed: readonly FleetReading[];
  /** The reading just measured, unless it was buffered. */
  readonly live: FleetReading | undefined;
  readonly rebooted: boolean;
  readonly wentOffline: boolean;
}

/** Restart the device: its counter starts again (1 unbounded, 0 wrapping) and its boot number, if any, increments. */
function reboot(d: FleetDevice): void {
  d.seq = MODULUS[d.kind] === undefined ? 0 : -1;
  if (d.boot !== undefined) d.boot++;
  d.reboots++;
}

/**
 * Take the device's next measurement at `tsMs` (the caller's clock; kept non-decreasing per device,
 * strictly increasing for devices without counter). Before it the device may reboot (never before
 * its first reading), go offline (this reading is then buffered) or come back online (its backlog
 * is returned for flushing before the live reading). A reboot while offline keeps the backlog.
 */
export function measure(d: FleetDevice, tsMs: number, metrics: Record<string, number>): MeasureResult {
  const rebootDraw = d.rnd();
  const offlineDraw = d.rnd();
  const rebooted = d.measured > 0 && rebootDraw < d.pReboot;
  if (rebooted) reboot(d);
  let flushed: FleetReading[] = [];
  let wentOffline = false;
  if (d.offlineLeft > 0) {
    if (--d.offlineLeft === 0) flushed = drainBacklog(d);
  } else if (offlineDraw < d.pOffline) {
    d.offlineLeft = d.offlineSteps;
    d.offlinePeriods++;
    wentOffline = true;
  }
  d.measured++;
  d.ordinal++;
  const seq = nextSeq(d.kind, d.seq);
  if (seq !== undefined) d.seq = seq;
  d.lastTsMs = Math.max(tsMs, d.kind === "none" ? d.lastTsMs + 1 : d.lastTsMs);
  const reading: FleetReading = { ordinal: d.ordinal, seq, boot: d.boot, tsMs: d.lastTsMs, metrics };
  if (d.offlineLeft > 0) {
    d.backlog.push(reading);
    return { flushed, live: undefined, rebooted, wentOffline };
  }
  return { flushed, live: reading, rebooted, wentOffline };
}

/** Bring the device online now and return its backlog (oldest first), leaving it empty. */
export function drainBacklog(d: FleetDevice): FleetReading[] {
  const out = d.backlog;
  d.backlog = [];
  d.offlineLeft = 0;
  return out;
}

/** Why `o` is not a valid fleet configuration, or undefined when it is. */
export function fleetOptionsProblem(o: FleetOptions): string | undefined {
  const fractions: Array<[string, number | undefined]> = [
    ["rebootRate", o.rebootRate],
    ["bootFraction", o.bootFraction],
    ["offlineRate", o.offlineRate],
  ];
  for (const [name, v] of fractions) {
    if (v !== undefined && !(v >= 0 && v <= 1)) return `${name}: must be between 0 and 1, got ${v}`;
  }
  if (o.offlineSec !== undefined && !(o.offlineSec > 0 && Number.isFinite(o.offlineSec))) return `offlineSec: must be a positive number, got ${o.offlineSec}`;
  if (o.seed !== undefined && !Number.isInteger(o.seed)) return `seed: must be an integer, got ${o.seed}`;
  const mix = o.counterMix === undefined ? undefined : counterMixProblem(o.counterMix);
  return mix === undefined ? undefined : `counterMix: ${mix}`;
}
