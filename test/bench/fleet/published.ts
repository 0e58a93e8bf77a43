/**
 * Every reading the simulator saw acknowledged (onPublished), kept compactly per device, and what
 * can be reconstructed from them without asking the simulator: each device's counter kind, its
 * reboots (a boot number that changes, or a counter that does not continue) and its flushes
 * (store-and-forward backlogs: readings sent more than FLUSH_AGE_MS after they were measured).
 */
import type { PublishedReading } from "../../../src/simulator/simulator.js";

/** A reading sent this long after it was measured came from a backlog. */
export const FLUSH_AGE_MS = 5000;

/** Counter kind of a device, from its id (simulator option counterPrefixes). */
export type Kind = "unbounded" | "s8" | "s16" | "s32" | "nc";

export function kindOfId(id: string): Kind {
  const m = /-(s8|s16|s32|nc)-\d+$/.exec(id);
  return m === null ? "unbounded" : (m[1] as Kind);
}

const WIDTH: Partial<Record<Kind, number>> = { s8: 2 ** 8, s16: 2 ** 16, s32: 2 ** 32 };

/** The acknowledged readings of one device, in acknowledgement order. */
export interface DeviceLog {
  readonly id: string;
  readonly kind: Kind;
  readonly ts: number[];
  readonly sent: number[];
  readonly seq: number[];
  /** -1: no boot number. */
  readonly boot: number[];
}

/** A flushed backlog of one device: when its readings were measured and when they were sent. */
export interface Flush {
  readonly firstTsMs: number;
  readonly firstSentMs: number;
  readonly lastSentMs: number;
  readonly readings: number;
}

/** What the acknowledged readings of one device show, in time order. */
export interface DeviceHistory {
  readonly log: DeviceLog;
  /** Indexes into the log, by tsMs. */
  readonly order: number[];
  readonly carriesBoot: boolean;
  /** Reboots visible in the data (undefined: a device without counter nor boot number cannot show them). */
  readonly reboots: number | undefined;
  readonly flushes: Flush[];
  readonly distinctTs: number;
}

export class PublishedLog {
  readonly devices = new Map<string, DeviceLog>();
  acked = 0;

  add(r: PublishedReading): void {
    let d = this.devices.get(r.deviceId);
    if (d === undefined) {
      d = { id: r.deviceId, kind: kindOfId(r.deviceId), ts: [], sent: [], seq: [], boot: [] };
      this.devices.set(r.deviceId, d);
    }
    d.ts.push(r.tsMs);
    d.sent.push(r.sentAtMs);
    d.seq.push(r.seq);
    d.boot.push(r.boot ?? -1);
    this.acked++;
  }

  /** (tsMs → index) of a device's readings. */
  indexByTs(id: string): Map<number, number> {
    const d = this.devices.get(id);
    const m = new Map<number, number>();
    d?.ts.forEach((t, i) => m.set(t, i));
    return m;
  }

  history(id: string): DeviceHistory {
    const log = this.devices.get(id)!;
    const order = log.ts.map((_, i) => i).sort((a, b) => log.ts[a]! - log.ts[b]!);
    const carriesBoot = log.boot.some((b) => b !== -1);
    let reboots: number | undefined = carriesBoot || log.kind !== "nc" ? 0 : undefined;
    const flushes: Flush[] = [];
    let open: { firstTsMs: number; firstSentMs: number; lastSentMs: number; readings: number } | undefined;
    let distinctTs = 0;
    for (let k = 0; k < order.length; k++) {
      const i = order[k]!;
      if (k === 0 || log.ts[i] !== log.ts[order[k - 1]!]) distinctTs++;
      if (k > 0 && reboots !== undefined) {
        const p = order[k - 1]!;
        if (carriesBoot) {
          if (log.boot[i] !== log.boot[p]) reboots++;
        } else {
          const w = WIDTH[log.kind];
          const next = w === undefined ? log.seq[p]! + 1 : (log.seq[p]! + 1) % w;
          if (log.seq[i] !== next) reboots++;
        }
      }
      const flushed = log.sent[i]! - log.ts[i]! > FLUSH_AGE_MS;
      if (flushed) {
        if (open === undefined) open = { firstTsMs: log.ts[i]!, firstSentMs: log.sent[i]!, lastSentMs: log.sent[i]!, readings: 0 };
        open.firstSentMs = Math.min(open.firstSentMs, log.sent[i]!);
        open.lastSentMs = Math.max(open.lastSentMs, log.sent[i]!);
        open.readings++;
      } else if (open !== undefined) {
        flushes.push(open);
        open = undefined;
      }
    }
    if (open !== undefined) flushes.push(open);
    return { log, order, carriesBoot, reboots, flushes, distinctTs };
  }
}
