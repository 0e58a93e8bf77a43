import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deviceSnapshots, publishJournal, syntheticJournal } from "../support/journal-fixture.js";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { startClickHouse, startNats, type ServiceHandle } from "../harness/index.js";
import { ensureJournal } from "../../src/adapters/nats/streams.js";
import { partitionConsumerName } from "../../src/domain/subjects.js";
import { startRuntimeRole, type RuntimeRole } from "../../src/cli/roles/runtime-role.js";
import type { ExplainRequest, ExplainResult, ModelGateway } from "../../src/ports/gateway.js";
import { chQuery, exited, pipelineConfig, pipelineEnv, quietLogger, spawnRole, waitFor } from "../support/pipeline.js";
import { sleep } from "../../src/base/clock.js";

/**
 * Handoffs keep per-device state. The same journal is processed once by a single runtime role, and
 * once by a `shoal runtime` process that is SIGKILLed mid-stream followed by two roles in this
 * process that take its partitions over and hand them back and forth while the journal streams (no
 * Consul: `acquire`/`release` by hand, as the lease manager calls them). Anomalies make the device
 * actors call the model gateway (a local double answering after 300 ms), so replies reach an old
 * owner after a handoff. ClickHouse rows (values and scores) and the final actor snapshots must be
 * identical to the single-role run, with device actors in-thread and on worker threads.
 */
const DEVICES = 400;
const ROUNDS = 24;
const PARTITIONS = 4;
const STREAM = "READINGS";

const journal = () => syntheticJournal({ devices: DEVICES, rounds: ROUNDS, partitions: PARTITIONS, prefix: "h-", seedStep: 17, seedOffset: 3, anomalyRate: 0.03 });

/** A gateway double whose explanations arrive `delayMs` after the call (deterministic content). */
function slowGateway(delayMs: number): ModelGateway {
  const model = { provider: "test", model: "slow", promptVersion: "explain@v1", cached: false, inputTokens: 0, outputTokens: 0, costUsd: 0, degraded: false, attempts: 1, signature: "0" };
  const fail = () => Promise.reject(new Error("not used in this test"));
  return {
    explain: (req: ExplainRequest) =>
      new Promise<ExplainResult>((r) =>
        setTimeout(() => r({ summary: `${req.window.deviceId} ${req.window.metric}`, likelyCause: "test", suggestedAction: "none", model }), delayMs),
      ),
    score: fail,
    embed: fail,
    summarize: fail,
  };
}

describe.each(["inline", "workers"] as const)("handoffs keep per-device state (runtime.host: %s)", (host) => {
  let natsRef: ServiceHandle;
  let natsRun: ServiceHandle;
  let ch: ServiceHandle;
  beforeAll(async () => {
    [natsRef, natsRun, ch] = await Promise.all([startNats(), startNats(), startClickHouse()]);
  });
  afterAll(async () => {
    await Promise.all([natsRef?.cleanup(), natsRun?.cleanup(), ch?.cleanup()]);
  });

  it("ends with the rows, scores and snapshots of a single-role run after a SIGKILL and moves back and forth", async () => {
    const msgs = journal();
    const extra = { SHOAL__RUNTIME__HOST: host, SHOAL__RUNTIME__WORKERS: "2", SHOAL__NATS__PARTITIONS: String(PARTITIONS), SHOAL__RUNTIME__SNAPSHOTEVERYMESSAGES: "5", SHOAL__RUNTIME__SNAPSHOTEVERY: "100ms" };
    const jopts = { stream: STREAM, partitions: PARTITIONS, duplicateWindowMs: 120_000, maxAgeMs: 86_400_000, maxAckPending: 20_000, replicas: 1 };
    const gateway = slowGateway(300);
    const uniq = (db: string) => async () => Number((await chQuery<{ n: string }>(ch.url, db, "SELECT uniqExact(device_id, epoch, seq) AS n FROM readings").catch(() => [{ n: "0" }]))[0]!.n);
    const refDb = `handoff_ref_${host}`;
    const runDb = `handoff_run_${host}`;

    // Reference: one role, no faults, no moves.
    const urlsRef = { nats: natsRef.url, mqtt: "mqtt://127.0.0.1:1", clickhouse: ch.url };
    const ncRef = await connect({ servers: natsRef.url });
    await ensureJournal(ncRef, jopts);
    await publishJournal(ncRef, msgs);
    await ncRef.close();
    const ref = await startRuntimeRole(pipelineConfig(urlsRef, { ...extra, SHOAL__CLICKHOUSE__DATABASE: refDb, SHOAL__NODEID: "ref" }), quietLogger("ref"), "all", { gateway });
    await waitFor(async () => ref.stats().acked, (n) => n >= msgs.length, 60_000, "the reference run to ack everything");
    await sleep(500); // the last explanations
    await ref.close();

    // The same journal: first a `shoal runtime` process owning every partition, SIGKILLed mid-stream;
    // then two roles in this process take over and hand partitions back and forth while it streams.
    const urls = { nats: natsRun.url, mqtt: "mqtt://127.0.0.1:1", clickhouse: ch.url };
    const run = { ...extra, SHOAL__CLICKHOUSE__DATABASE: runDb };
    const ncRun = await connect({ servers: natsRun.url });
    await ensureJournal(ncRun, jopts);
    let out = "";
    const child = spawnRole("runtime", pipelineEnv(urls, { ...run, SHOAL__NODEID: "k", SHOAL__LOG__LEVEL: "info" }), (s) => (out += s));
    const reap = () => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL");
    process.once("exit", reap);
    const roles: RuntimeRole[] = [];
    const owner = new Map<number, RuntimeRole>();
    let moves = 0;
    try {
      const [a, b] = await Promise.all(["a", "b"].map((n) => startRuntimeRole(pipelineConfig(urls, { ...run, SHOAL__NODEID: n }), quietLogger(n), "none", { gateway })));
      roles.push(a!, b!);
      await waitFor(async () => out, (o) => o.includes("runtime started"), 60_000, "the runtime process to start");
      let published = false;
      const publishing = publishJournal(ncRun, msgs, { every: 100, ms: 150 }).then(() => (published = true)); // ~15 s
      await waitFor(uniq(runDb), (n) => n >= msgs.length / 6, 60_000, "a sixth of the rows before the kill");
      child.kill("SIGKILL");
      await exited(child);
      for (let p = 0; p < PARTITIONS; p++) {
        await a!.acquire(p); // rewinds what the dead process had pulled, recovers snapshots + journal
        owner.set(p, a!);
      }
      const move = async (p: number) => {
        const from = owner.get(p)!;
        const to = from === a ? b! : a!;
        await from.release(p);
        await to.acquire(p);
        owner.set(p, to);
        moves++;
      };
      // One move every ~250 ms while streaming, then more once the gateway's late replies and the
      // previous owners' time-based snapshots had time to land.
      for (let i = 0; !published || i < 16; i++) {
        await move(i % PARTITIONS);
        await sleep(published ? 400 : 250);
      }
      await publishing;
      await waitFor(uniq(runDb), (n) => n >= msgs.length, 60_000, "every reading stored");
      const jsm = await jetstreamManager(ncRun);
      const open = async () => {
        let n = 0;
        for (let p = 0; p < PARTITIONS; p++) {
          const info = await jsm.consumers.info(STREAM, partitionConsumerName(p));
          n += info.num_pending + info.num_ack_pending;
        }
        return n;
      };
      await waitFor(open, (n) => n === 0, 30_000, "every partition consumer acked");
      await sleep(500); // last explanations
    } finally {
      reap();
      process.off("exit", reap);
      for (const r of roles) await r.close();
      await ncRun.close();
    }
    expect(moves).toBeGreaterThanOrEqual(16);

    const q = "SELECT device_id, seq, metric_values, metric_scores, score FROM readings FINAL ORDER BY device_id, seq";
    const [rowsRef, rowsRun] = await Promise.all([chQuery(ch.url, refDb, q), chQuery(ch.url, runDb, q)]);
    expect(rowsRef).toHaveLength(msgs.length);
    const [sRef, sRun] = await Promise.all([deviceSnapshots(natsRef.url, "shoal_snapshots"), deviceSnapshots(natsRun.url, "shoal_snapshots")]);
    expect(sRef.size).toBe(DEVICES);
    const differing = [...sRef.keys()].filter((k) => sRef.get(k) !== sRun.get(k));
    const diffRows = rowsRef.filter((r, i) => JSON.stringify(r) !== JSON.stringify(rowsRun[i])).length;
    const show = (v: string | undefined) => {
      const buf = Buffer.from(v ?? "", "base64");
      const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      return buf.length < 17 ? "missing" : { lastDeviceSeq: dv.getFloat64(1, true), streamSeq: dv.getFloat64(9, true), state: buf.subarray(17).toString("utf8").slice(0, 200) };
    };
    expect({ diffRows, differingSnapshots: differing.length, first: differing.length > 0 ? [differing[0], show(sRef.get(differing[0]!)), show(sRun.get(differing[0]!))] : [] }).toEqual({
      diffRows: 0,
      differingSnapshots: 0,
      first: [],
    });
  });
});
