import { rm } from "node:fs/promises";
import { join } from "node:path";
import { findBinary } from "./binaries.js";
import { ServiceStartError } from "./errors.js";
import { freePort, releasePort } from "./free-port.js";
import { ManagedService } from "./managed-service.js";
import type { ServiceHandle, StartupTiming } from "./managed-service.js";
import { httpGet } from "./probes.js";
import { renderTemplate } from "./templates.js";
import { sleep } from "../../src/base/clock.js";

/** Options of {@link startNatsCluster}. */
export interface NatsClusterOptions {
  /** Nodes (JetStream clustering needs at least 3 for a replica-3 stream). Default 3. */
  readonly nodes?: number;
  /** Cluster name (also in each server_name). Default `shoal-test-<first client port>`. */
  readonly clusterName?: string;
}

/**
 * One node of the cluster: a normal ServiceHandle — `stop()` (SIGTERM, for a rolling restart),
 * `kill()` (SIGKILL), `restart()` (start again on the same ports and store; after `kill()` or
 * `stop()` it just starts) — plus its cluster identity.
 */
export interface NatsNodeHandle extends ServiceHandle, StartupTiming {
  /** 0-based position in {@link NatsClusterHandle.nodes}. */
  readonly index: number;
  /** Its server_name (the JetStream raft peer name). */
  readonly serverName: string;
  readonly monitorUrl: string;
  readonly clusterPort: number;
  /** The JetStream store (nats-server puts it at `<store_dir>/jetstream`). */
  readonly storeDir: string;
  /** True while the process runs. */
  running(): boolean;
  /** Deletes the JetStream store (a lost disk); `restart()` then starts it empty. Refused while the node runs. */
  wipeStore(): Promise<void>;
}

/** Options of {@link NatsClusterHandle.waitCurrent}. */
export interface WaitCurrentOptions {
  /**
   * Also wait for every consumer replica on the node (default true). nats-server 2.9.10 sometimes
   * leaves a consumer replica on a node that came back with an empty store behind for good (its
   * leader reports "lag 2" and a different position, traffic or not); false waits for the streams
   * only.
   */
  readonly consumers?: boolean;
}

/** A JetStream cluster on loopback, one temp dir and set of ports per node. */
export interface NatsClusterHandle {
  readonly nodes: readonly NatsNodeHandle[];
  /** Client URL of every node. */
  readonly urls: readonly string[];
  /** The same, comma-separated (what `nats.url` takes). */
  readonly url: string;
  /** Name of the JetStream meta leader as seen by a running node that knows one, else undefined. */
  metaLeader(): Promise<string | undefined>;
  /** Waits until a meta leader exists and every running node sees the same one; its name. */
  waitMetaLeader(timeoutMs?: number): Promise<string>;
  /**
   * Waits until node `index` is current: its full /healthz is ok (JetStream on, meta group current,
   * its streams and consumers current), every stream and consumer has a leader, and each leader
   * reports it as a current replica with no lag. On nats-server 2.9.10 a node started with an empty
   * store catches a consumer up only at that consumer's next delivery or ack: an idle consumer keeps
   * this waiting until its timeout (give it traffic; a running Shoal does).
   */
  waitCurrent(index: number, timeoutMs?: number, opts?: WaitCurrentOptions): Promise<void>;
  /** Stops every node and deletes their temp dirs. Idempotent. */
  cleanup(): Promise<void>;
}

const START_ATTEMPTS = 3;

/**
 * Starts `nodes` nats-server processes clustered with JetStream, from
 * deploy/local/templates/nats-cluster.conf (which includes nats.conf: same max_payload and store
 * limits as a single node). Resolves once every node is up and the meta group has a leader. The
 * routes name every node's cluster port, so all ports are chosen before the first node starts; a
 * start that loses a bind race is retried whole with fresh ports.
 */
export async function startNatsCluster(opts: NatsClusterOptions = {}): Promise<NatsClusterHandle> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      const clash = err instanceof ServiceStartError && /address already in use|bind/i.test(err.message);
      if (!clash || attempt >= START_ATTEMPTS) throw err;
    }
  }
}

interface NodePorts {
  readonly client: number;
  readonly monitor: number;
  readonly cluster: number;
}

async function startOnce(opts: NatsClusterOptions): Promise<NatsClusterHandle> {
  const count = opts.nodes ?? 3;
  const ports: NodePorts[] = [];
  for (let i = 0; i < count; i++) ports.push({ client: await freePort(), monitor: await freePort(), cluster: await freePort() });
  const name = opts.clusterName ?? `shoal-test-${ports[0]!.client}`;
  const routes = ports.map((p) => `"nats-route://127.0.0.1:${p.cluster}"`).join(", ");
  const settled = await Promise.allSettled(ports.map((p, i) => startNode(i, p, name, routes)));
  const nodes = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed !== undefined) {
    await Promise.all(nodes.map((n) => n.cleanup()));
    for (const p of ports) for (const port of [p.client, p.monitor, p.cluster]) releasePort(port);
    throw failed.reason;
  }
  const cluster = clusterHandle(nodes);
  await cluster.waitMetaLeader().catch(async (err: unknown) => {
    await cluster.cleanup();
    throw err;
  });
  return cluster;
}

async function startNode(index: number, p: NodePorts, clusterName: string, routes: string): Promise<NatsNodeHandle> {
  const binary = findBinary("nats");
  const serverName = `${clusterName}-n${index + 1}`;
  const monitorUrl = `http://127.0.0.1:${p.monitor}`;
  const service = await ManagedService.start({
    name: `nats-n${index + 1}`,
    startTimeoutMs: 30_000,
    async configure(dataDir) {
      await renderTemplate("nats.conf", join(dataDir, "nats.conf"), { SERVER_NAME: serverName, PORT: p.client, MONITOR_PORT: p.monitor, JETSTREAM: "true", DATA_DIR: dataDir });
      const config = join(dataDir, "nats-cluster.conf");
      await renderTemplate("nats-cluster.conf", config, { CLUSTER_NAME: clusterName, CLUSTER_PORT: p.cluster, ROUTES: routes });
      const log = join(dataDir, "nats.log");
      return {
        binary,
        args: ["-c", config],
        stdioLog: log,
        logFile: log,
        ports: [p.client, p.monitor, p.cluster],
        // Up, JetStream on, and this node's identity (not someone else's server on the port).
        // Not "current": that needs a quorum, which a lone restarted node cannot have by itself.
        async healthy() {
          if ((await httpGet(`${monitorUrl}/healthz?js-enabled-only=true`))?.status !== 200) return false;
          const varz = await httpGet(`${monitorUrl}/varz`);
          if (varz?.status !== 200) return false;
          const v = JSON.parse(varz.body) as { server_name?: string; jetstream?: { config?: unknown } };
          return v.server_name === serverName && v.jetstream?.config !== undefined;
        },
      };
    },
  });
  const storeDir = join(service.dataDir, "jetstream");
  const extra = {
    index,
    serverName,
    monitorUrl,
    clusterPort: p.cluster,
    storeDir,
    running: () => service.running,
    async wipeStore() {
      if (service.running) throw new Error(`${serverName}: wipeStore() while running; stop() or kill() it first`);
      await rm(storeDir, { recursive: true, force: true });
    },
  };
  return service.handle(`nats://127.0.0.1:${p.client}`, p.client, extra);
}

interface RaftGroup {
  leader?: string;
  replicas?: { name: string; current: boolean; lag?: number }[];
}
interface Position {
  stream_seq: number;
}
interface ConsumerDetail {
  name: string;
  cluster?: RaftGroup;
  delivered?: Position;
  ack_floor?: Position;
}
interface Jsz {
  meta_cluster?: { leader?: string };
  account_details?: { stream_detail?: { name: string; cluster?: RaftGroup; consumer_detail?: ConsumerDetail[] }[] }[];
}

async function jsz(node: NatsNodeHandle, query = ""): Promise<Jsz | undefined> {
  const r = await httpGet(`${node.monitorUrl}/jsz${query}`);
  return r?.status === 200 ? (JSON.parse(r.body) as Jsz) : undefined;
}

const position = (c: ConsumerDetail | undefined): string => `${c?.delivered?.stream_seq}/${c?.ack_floor?.stream_seq}`;

/**
 * Raft groups (streams and consumers) not settled for `serverName`, as the running nodes report
 * them: without a leader (an election or a replica-count change in progress), or whose leader does
 * not yet see that node as a current replica. nats-server 2.9.10 quirk: a consumer replica on a
 * node that came back with an empty store can stay "lag 2" in its leader's view for good, with the
 * same delivered and ack floor as the leader; such a consumer counts as settled (its position is
 * what a new leader on that node would resume from).
 */
async function unsettledGroups(nodes: readonly NatsNodeHandle[], serverName: string, consumers: boolean): Promise<string[]> {
  const views = new Map<string, Jsz | undefined>();
  for (const n of nodes.filter((x) => x.running())) views.set(n.serverName, await jsz(n, "?accounts=true&streams=true&consumers=true"));
  const streamsOf = (name: string) => views.get(name)?.account_details?.flatMap((a) => a.stream_detail ?? []) ?? [];
  const own = new Map<string, ConsumerDetail>(streamsOf(serverName).flatMap((s) => (s.consumer_detail ?? []).map((c) => [`${s.name}/${c.name}`, c] as const)));
  const out = new Set<string>();
  const check = (what: string, g: RaftGroup | undefined, reporter: string, leaderConsumer?: ConsumerDetail): void => {
    if (g === undefined) return;
    if (!g.leader) return void out.add(`${what} (no leader)`);
    if (g.leader !== reporter) return;
    const r = g.replicas?.find((x) => x.name === serverName);
    if (r === undefined || (r.current && (r.lag ?? 0) === 0)) return;
    if (leaderConsumer !== undefined && r.current && position(own.get(what)) === position(leaderConsumer)) return;
    out.add(`${what} (lag ${r.lag ?? "?"})`);
  };
  for (const reporter of views.keys()) {
    for (const s of streamsOf(reporter)) {
      check(s.name, s.cluster, reporter);
      if (consumers) for (const c of s.consumer_detail ?? []) check(`${s.name}/${c.name}`, c.cluster, reporter, c);
    }
  }
  return [...out];
}

/**
 * nats-server 2.9.10 quirk: on a node started with an empty store, /healthz names a consumer "not
 * current" until that consumer next changes (a delivery or an ack), however long it stays idle,
 * while its leader already reports the node current. Streams come first in /healthz's walk, so a
 * consumer complaint means the node's streams are current; the consumers' state is then judged
 * from their leaders' view (see unsettledGroups).
 */
function idleConsumerOnly(body: string | undefined): boolean {
  return body !== undefined && /JetStream consumer '[^']*' is not current/.test(body);
}

async function poll<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, last: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new ServiceStartError("nats-cluster", `${what}: not within ${timeoutMs} ms (${last()})`);
    await sleep(100);
  }
}

function clusterHandle(nodes: NatsNodeHandle[]): NatsClusterHandle {
  const urls = nodes.map((n) => n.url);
  const leaders = async (): Promise<(string | undefined)[]> =>
    Promise.all(nodes.filter((n) => n.running()).map(async (n) => (await jsz(n))?.meta_cluster?.leader || undefined));
  let seen = "";
  return {
    nodes,
    urls,
    url: urls.join(","),
    async metaLeader() {
      return (await leaders()).find((l) => l !== undefined);
    },
    waitMetaLeader(timeoutMs = 30_000) {
      return poll("JetStream meta leader", timeoutMs, async () => {
        const ls = await leaders();
        seen = JSON.stringify(ls);
        return ls.length > 0 && ls[0] !== undefined && ls.every((l) => l === ls[0]) ? ls[0] : undefined;
      }, () => `leaders seen per running node: ${seen}`);
    },
    async waitCurrent(index, timeoutMs = 60_000, opts = {}) {
      const node = nodes[index]!;
      let why = "";
      await poll(`${node.serverName} current`, timeoutMs, async () => {
        const h = await httpGet(`${node.monitorUrl}/healthz`);
        if (h?.status !== 200 && !idleConsumerOnly(h?.body)) return void (why = `healthz ${h?.status ?? "no answer"} ${h?.body ?? ""}`);
        if (!(await jsz(node))?.meta_cluster?.leader) return void (why = "no meta leader");
        const unsettled = await unsettledGroups(nodes, node.serverName, opts.consumers ?? true);
        if (unsettled.length > 0) return void (why = `not settled: ${unsettled.slice(0, 5).join(", ")}${unsettled.length > 5 ? ` and ${unsettled.length - 5} more` : ""}`);
        return true;
      }, () => why);
    },
    async cleanup() {
      await Promise.all(nodes.map((n) => n.cleanup()));
    },
  };
}
