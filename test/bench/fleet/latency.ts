/**
 * Publish → row visible latency of a sample of live readings: every `every`-th acknowledged live
 * reading (sent less than 1 s after it was measured) is looked for in ClickHouse by (device_id,
 * ts_ms) every `pollMs` until its row is there. Resolution: one poll interval plus one query.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { createClickHouseClient } from "../../../src/adapters/clickhouse/index.js";
import type { PublishedReading } from "../../../src/simulator/simulator.js";

export interface LatencySample {
  readonly sentAtMs: number;
  /** -1: never seen within the give-up time. */
  readonly latencyMs: number;
}

const LIVE_MS = 1000;
const GIVE_UP_MS = 120_000;
const MAX_PER_QUERY = 400;

export class LatencySampler {
  readonly samples: LatencySample[] = [];
  private readonly pending = new Map<string, { deviceId: string; tsMs: number; sentAtMs: number }>();
  private live = 0;
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly ch: ClickHouseClient;

  constructor(
    chUrl: string,
    database: string,
    private readonly every = 100,
    private readonly pollMs = 100,
  ) {
    this.ch = createClickHouseClient({ url: chUrl, database, username: "default", password: "" });
  }

  offer(r: PublishedReading): void {
    if (r.sentAtMs - r.tsMs >= LIVE_MS) return;
    if (++this.live % this.every !== 0) return;
    this.pending.set(`${r.deviceId}|${r.tsMs}`, { deviceId: r.deviceId, tsMs: r.tsMs, sentAtMs: r.sentAtMs });
  }

  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running || this.pending.size > 0) {
        await this.pollOnce().catch(() => undefined);
        await new Promise((r) => setTimeout(r, this.pollMs));
      }
    })();
  }

  /** Stop sampling; resolves once every pending sample was seen or given up. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.ch.close();
  }

  private async pollOnce(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = [...this.pending.values()].slice(0, MAX_PER_QUERY);
    const q = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
    const ids = [...new Set(batch.map((b) => q(b.deviceId)))].join(",");
    const tuples = batch.map((b) => `(${q(b.deviceId)},${b.tsMs})`).join(",");
    const rs = await this.ch.query({ query: `SELECT device_id, toString(ts_ms) AS ts FROM readings WHERE device_id IN (${ids}) AND (device_id, ts_ms) IN (${tuples})`, format: "JSONEachRow" });
    const rows = (await rs.json()) as { device_id: string; ts: string }[];
    const now = Date.now();
    for (const r of rows) {
      const key = `${r.device_id}|${r.ts}`;
      const p = this.pending.get(key);
      if (p === undefined) continue;
      this.pending.delete(key);
      this.samples.push({ sentAtMs: p.sentAtMs, latencyMs: now - p.sentAtMs });
    }
    for (const [key, p] of this.pending) {
      if (now - p.sentAtMs > GIVE_UP_MS) {
        this.pending.delete(key);
        this.samples.push({ sentAtMs: p.sentAtMs, latencyMs: -1 });
      }
    }
  }
}

/** p-quantile (0..1) of sorted values, NaN when empty. */
export function quantile(sorted: readonly number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}
