import type { ChildProcess } from "node:child_process";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsClusterHandle } from "../harness/index.js";
import { connectNats } from "../../src/adapters/nats/connection.js";
import { simulate, type SimulateStats } from "../../src/simulator/simulator.js";
import { partitionConsumerName } from "../../src/domain/subjects.js";
import { sleep } from "../../src/base/clock.js";
import { chQuery, exited, pipelineEnv, spawnRole, waitFor, type ServiceUrls } from "../support/pipeline.js";

/**
 * Shoal on a NATS cluster for the node-loss chaos tests: bridge and runtime as child processes
 * (the test process keeps the simulator and the samplers), devices publishing at QoS 1 with every
 * PUBACKed reading remembered, and the row count of ClickHouse sampled while publishing.
 */

/** The bridge and runtime processes of one run. */
export interface ShoalProcs {
  /** Everything both printed (JSON log lines), for a failure's message. */
  out(): string;
  /** SIGTERM both and wait (graceful: in-flight batches made durable first). */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const c of live) c.kill("SIGKILL");
});

/** SIGKILLs every role process this module started that still runs (afterAll). */
export async function killAllRoles(): Promise<void> {
  await Promise.all([...live].map((c) => (c.kill("SIGKILL"), exited(c))));
}

/** Starts `shoal bridge` and `shoal runtime` on `urls` with `nats.replicas: 3`; resolves once both say they started. */
export async function startShoal(urls: ServiceUrls, db: string, group: string): Promise<ShoalProcs> {
  let out = "";
  const env = pipelineEnv(urls, {
    SHOAL__NATS__REPLICAS: "3",
    SHOAL__CLICKHOUSE__DATABASE: db,
    SHOAL__MQTT__SHAREDGROUP: group,
    SHOAL__LOG__LEVEL: "info",
    SHOAL__GRPC__WEBPORT: "0",
    SHOAL__ADMIN__PORT: "0",
  });
  const children = (["runtime", "bridge"] as const).map((role) => {
    const c = spawnRole(role, { ...env, SHOAL__NODEID: `${group}-${role}` }, (s) => (out += s));
    live.add(c);
    c.once("exit", () => live.delete(c));
    return c;
  });
  const procs: ShoalProcs = {
    out: () => out,
    async stop() {
      for (const c of children) c.kill("SIGTERM");
      await Promise.all(children.map((c) => exited(c)));
    },
  };
  await waitFor(async () => out, (o) => (o.includes("runtime started") && o.includes("bridge started")) || children.some((c) => c.exitCode !== null), 90_000, "bridge and runtime to start");
  if (children.some((c) => c.exitCode !== null)) throw new Error(`a Shoal role exited at start:\n${out.slice(-3000)}`);
  return procs;
}

/** Devices publishing at QoS 1 until stopped; every reading the broker PUBACKed is kept as `device|seq`. */
export interface Devices {
  readonly acked: Set<string>;
  /** Stop publishing; resolves with the simulator's counts once every publish is answered. */
  stop(): Promise<SimulateStats>;
}

export function startDevices(mqttUrl: string, prefix: string, devices: number, rate: number): Devices {
  const acked = new Set<string>();
  const abort = new AbortController();
  const run = simulate({ url: mqttUrl, devices, rate, durationSec: 600, devicePrefix: prefix, format: "mixed", signal: abort.signal, onPublished: (r) => acked.add(`${r.deviceId}|${r.seq}`) });
  return {
    acked,
    async stop() {
      abort.abort();
      return run;
    },
  };
}

/** A counter sampled about every 250 ms; the longest stretch without growth between two times. */
export interface RowSampler {
  stop(): void;
  /** Longest interval (ms) within [fromMs, toMs] during which the count did not grow. */
  longestStallMs(fromMs: number, toMs: number): number;
  /** Growth per second from `fromMs` on (where a stall was, when one is reported). */
  perSecond(fromMs: number): number[];
}

/** Samples `count()` of readings. */
export function sampleRows(chUrl: string, db: string): RowSampler {
  return sampler(async () => Number((await chQuery<{ n: string }>(chUrl, db, "SELECT count() AS n FROM readings"))[0]!.n));
}

/**
 * Samples the journal's last stream sequence (what the bridge got PubAcks for), as the running
 * nodes' monitors report it: beside the rows, it tells a stalled bridge from a stalled runtime.
 */
export function sampleJournal(cluster: NatsClusterHandle, stream: string): RowSampler {
  return sampler(async () => {
    let last = 0;
    for (const n of cluster.nodes.filter((x) => x.running())) {
      const r = await fetch(`${n.monitorUrl}/jsz?accounts=true&streams=true`, { signal: AbortSignal.timeout(1000) }).catch(() => undefined);
      const z = (await r?.json().catch(() => undefined)) as { account_details?: { stream_detail?: { name: string; state?: { last_seq?: number } }[] }[] } | undefined;
      for (const s of z?.account_details?.flatMap((a) => a.stream_detail ?? []) ?? []) if (s.name === stream) last = Math.max(last, s.state?.last_seq ?? 0);
    }
    return last;
  });
}

function sampler(read: () => Promise<number>): RowSampler {
  const samples: { at: number; n: number }[] = [];
  let stopped = false;
  void (async () => {
    while (!stopped) {
      const n = await read().catch(() => undefined);
      if (n !== undefined) samples.push({ at: Date.now(), n });
      await sleep(250);
    }
  })();
  return {
    stop: () => void (stopped = true),
    longestStallMs(fromMs, toMs) {
      const inside = samples.filter((s) => s.at >= fromMs && s.at <= toMs);
      let longest = 0;
      let since = inside[0]?.at ?? fromMs;
      for (let i = 1; i < inside.length; i++) {
        if (inside[i]!.n > inside[i - 1]!.n) since = inside[i]!.at;
        else longest = Math.max(longest, inside[i]!.at - since);
      }
      return longest;
    },
    perSecond(fromMs) {
      const out: number[] = [];
      let prev = samples.filter((s) => s.at <= fromMs).at(-1)?.n ?? 0;
      for (let t = fromMs + 1000; t <= (samples.at(-1)?.at ?? fromMs); t += 1000) {
        const n = samples.filter((s) => s.at <= t).at(-1)?.n ?? prev;
        out.push(n - prev);
        prev = n;
      }
      return out;
    },
  };
}

/** What ClickHouse holds for devices `<prefix>-*`. */
export interface Stored {
  /** Rows as inserted (a re-insert would count twice). */
  readonly rows: number;
  /** Rows after ReplacingMergeTree's deduplication. */
  readonly rowsFinal: number;
  /** Distinct (device_id, epoch, seq). */
  readonly distinct: number;
  /** Distinct (device_id, seq): a reading stored under two epochs counts once here. */
  readonly distinctBySeq: number;
  /** Acknowledged readings with no row. */
  readonly missing: string[];
}

export async function storedReadings(chUrl: string, db: string, prefix: string, acked: ReadonlySet<string>): Promise<Stored> {
  const where = `WHERE startsWith(device_id, '${prefix}-')`;
  const [c] = await chQuery<Record<string, string>>(chUrl, db, `SELECT count() AS rows, uniqExact(device_id, epoch, seq) AS distinct, uniqExact(device_id, seq) AS bySeq FROM readings ${where}`);
  const [f] = await chQuery<{ n: string }>(chUrl, db, `SELECT count() AS n FROM readings FINAL ${where}`);
  const keys = new Set((await chQuery<{ k: string }>(chUrl, db, `SELECT DISTINCT concat(device_id, '|', toString(seq)) AS k FROM readings ${where}`)).map((r) => r.k));
  const missing = [...acked].filter((k) => !keys.has(k));
  return { rows: Number(c!["rows"]), rowsFinal: Number(f!.n), distinct: Number(c!["distinct"]), distinctBySeq: Number(c!["bySeq"]), missing };
}

/** Waits until every acknowledged reading has a row (or `timeoutMs`), then what is stored. */
export async function settle(chUrl: string, db: string, prefix: string, acked: ReadonlySet<string>, timeoutMs: number): Promise<Stored> {
  const deadline = Date.now() + timeoutMs;
  let s = await storedReadings(chUrl, db, prefix, acked);
  while (s.missing.length > 0 && Date.now() < deadline) {
    await sleep(1000);
    s = await storedReadings(chUrl, db, prefix, acked);
  }
  // Once more: the counts are read before the keys, so rows landing in between are missing from them.
  return s.missing.length > 0 ? s : storedReadings(chUrl, db, prefix, acked);
}

/**
 * The partition consumers' redelivery counts (a delivery lost between the consumer leader and the
 * runtime comes back only after ack_wait, as a redelivery) and open messages, for the printout.
 */
export async function consumerCounts(cluster: NatsClusterHandle, stream: string, partitions: number): Promise<{ redelivered: number; ackPending: number; undelivered: number; unreadable?: string }> {
  const nc = await connectNats(cluster.url, "chaos-probe");
  try {
    const jsm = await jetstreamManager(nc);
    const out: { redelivered: number; ackPending: number; undelivered: number; unreadable?: string } = { redelivered: 0, ackPending: 0, undelivered: 0 };
    for (let p = 0; p < partitions; p++) {
      // For the printout only: a cluster still electing a leader on a busy machine ("JetStream
      // system temporarily unavailable") leaves the figure out instead of failing the test.
      const ci = await jsm.consumers.info(stream, partitionConsumerName(p)).catch((e: unknown) => {
        out.unreadable ??= `partition ${p}: ${e instanceof Error ? e.message : String(e)}`;
        return undefined;
      });
      if (ci === undefined) continue;
      out.redelivered += ci.num_redelivered;
      out.ackPending += ci.num_ack_pending;
      out.undelivered += ci.num_pending;
    }
    return out;
  } finally {
    await nc.close();
  }
}

/** Index of the node leading `stream` (the node whose loss disturbs the journal most). */
export async function streamLeader(cluster: NatsClusterHandle, stream: string): Promise<number> {
  const nc = await connectNats(cluster.url, "chaos-probe");
  try {
    const leader = (await (await jetstreamManager(nc)).streams.info(stream)).cluster?.leader;
    const i = cluster.nodes.findIndex((n) => n.serverName === leader);
    if (i < 0) throw new Error(`no leader of ${stream} among ${cluster.nodes.map((n) => n.serverName).join(", ")} (got ${leader})`);
    return i;
  } finally {
    await nc.close();
  }
}
