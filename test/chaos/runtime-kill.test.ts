import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deviceSnapshots, publishJournal, syntheticJournal } from "../support/journal-fixture.js";
import { connect } from "@nats-io/transport-node";
import { freePort, startClickHouse, startNats, type ServiceHandle } from "../harness/index.js";
import { createAdminClient } from "../../src/admin/client.js";
import { ensureJournal } from "../../src/adapters/nats/streams.js";
import { startRuntimeRole } from "../../src/cli/roles/runtime-role.js";
import { startGatewayRole, type GatewayRole } from "../../src/cli/gateway.command.js";
import { chQuery, exited, pipelineConfig, pipelineEnv, quietLogger, spawnRole, waitFor } from "../support/pipeline.js";

/**
 * Chaos: while 1,000 devices stream, a worker thread of the runtime is killed twice (through the
 * admin gRPC RestartWorker) and then the runtime process is SIGKILLed and restarted. The same
 * journal (identical messages in identical order, on two nats-servers) is processed once without
 * faults and once with the faults; the ClickHouse rows (values and anomaly scores, the anomalies
 * explained, the anomaly windows' shapes) and the final per-device actor state (the snapshots
 * written at shutdown) must be identical. Both runs ask one model gateway (local models) for
 * explanations.
 */
const DEVICES = 1000;
const ROUNDS = 20;
const PARTITIONS = 8;
const STREAM = "READINGS";

const journal = () => syntheticJournal({ devices: DEVICES, rounds: ROUNDS, partitions: PARTITIONS, prefix: "c-", seedStep: 31, seedOffset: 7, anomalyRate: 0.01 });

describe("runtime SIGKILL while streaming", () => {
  let natsA: ServiceHandle;
  let natsB: ServiceHandle;
  let ch: ServiceHandle;
  let gateway: GatewayRole;
  beforeAll(async () => {
    [natsA, natsB, ch] = await Promise.all([startNats(), startNats(), startClickHouse()]);
    const cfg = pipelineConfig({ nats: natsA.url, mqtt: "mqtt://127.0.0.1:1", clickhouse: ch.url });
    gateway = await startGatewayRole({ ...cfg.gateway, listen: { ...cfg.gateway.listen, port: 0 } }, { env: {} });
  });
  afterAll(async () => {
    await gateway?.close();
    await Promise.all([natsA?.cleanup(), natsB?.cleanup(), ch?.cleanup()]);
  });

  it("ends with the same rows, scores and per-device state as a run without faults", async () => {
    const msgs = journal();
    const extra = { SHOAL__GATEWAY__CLIENT__ADDRESS: gateway.address, SHOAL__NATS__PARTITIONS: String(PARTITIONS), SHOAL__RUNTIME__SNAPSHOTEVERYMESSAGES: "5", SHOAL__RUNTIME__SNAPSHOTEVERY: "200ms", SHOAL__RUNTIME__WORKERS: "2" };
    const jopts = { stream: STREAM, partitions: PARTITIONS, duplicateWindowMs: 120_000, maxAgeMs: 86_400_000, maxAckPending: 20_000, replicas: 1 };
    const urlsA = { nats: natsA.url, mqtt: "mqtt://127.0.0.1:1", clickhouse: ch.url };
    const urlsB = { nats: natsB.url, mqtt: "mqtt://127.0.0.1:1", clickhouse: ch.url };

    // Run A: no faults.
    const ncA = await connect({ servers: natsA.url });
    await ensureJournal(ncA, jopts);
    await publishJournal(ncA, msgs);
    await ncA.close();
    const cfgA = pipelineConfig(urlsA, { ...extra, SHOAL__CLICKHOUSE__DATABASE: "chaos_a" });
    const rtA = await startRuntimeRole(cfgA, quietLogger("runtime-a"));
    await waitFor(async () => rtA.stats().acked, (n) => n >= msgs.length, 120_000, "run A to ack everything");
    await rtA.close();

    // Run B: the runtime is a separate process, SIGKILLed mid-stream and restarted.
    const ncB = await connect({ servers: natsB.url });
    await ensureJournal(ncB, jopts);
    const adminPort = await freePort();
    const envB = pipelineEnv(urlsB, { ...extra, SHOAL__CLICKHOUSE__DATABASE: "chaos_b", SHOAL__LOG__LEVEL: "info", SHOAL__NODEID: "chaos-b", SHOAL__ADMIN__PORT: String(adminPort), SHOAL__GRPC__WEBPORT: "0" });
    const admin = createAdminClient(`127.0.0.1:${adminPort}`);
    let out = "";
    let rt = spawnRole("runtime", envB, (s) => (out += s));
    // Never leave a runtime process behind, whatever fails below.
    const reap = () => rt.exitCode === null && rt.signalCode === null && rt.kill("SIGKILL");
    process.once("exit", reap);
    try {
    await waitFor(async () => out, (o) => o.includes("runtime started"), 60_000, "runtime B to start");
    // The devices stream in two parts, in journal order: the first 40 % now (the faults happen while
    // it is processed), the rest from the moment of the SIGKILL on (while the runtime is down and
    // restarting), so the kill always lands mid-stream however fast this machine is.
    const cut = Math.floor(msgs.length * 0.4);
    const pace = { every: 200, ms: 50 };
    const firstPart = publishJournal(ncB, msgs.slice(0, cut), pace);
    const rowsB = async () => Number((await chQuery<{ n: string }>(ch.url, "chaos_b", "SELECT count() AS n FROM readings").catch(() => [{ n: "0" }]))[0]!.n);
    // Two worker threads killed mid-stream: each is replaced, its partitions rebuilt from snapshots
    // + journal replay, and the batches it held run again.
    await waitFor(rowsB, (n) => n >= msgs.length / 10, 120_000, "a tenth of the rows before the first worker kill");
    await admin.restartWorker(0);
    await waitFor(rowsB, (n) => n >= msgs.length / 5, 120_000, "a fifth of the rows before the second worker kill");
    await admin.restartWorker(1);
    await waitFor(rowsB, (n) => n >= (msgs.length * 3) / 10, 120_000, "three tenths of the rows before the process kill");
    const stats = await admin.getRuntimeStats();
    expect(Number(stats.workerRestarts)).toBe(2);
    expect(stats.workers).toHaveLength(2);
    rt.kill("SIGKILL");
    const publishing = firstPart.then(() => publishJournal(ncB, msgs.slice(cut), pace));
    await exited(rt);
    const rowsAtKill = await rowsB();
    out = "";
    rt = spawnRole("runtime", envB, (s) => (out += s));
    await waitFor(async () => out, (o) => o.includes("runtime started"), 60_000, "runtime B to restart");
    await publishing;
    await ncB.close();
    await waitFor(
      async () => Number((await chQuery<{ n: string }>(ch.url, "chaos_b", "SELECT uniqExact(device_id, epoch, seq) AS n FROM readings"))[0]!.n),
      (n) => n >= msgs.length,
      120_000,
      "run B to store every reading",
    );
    rt.kill("SIGTERM"); // graceful: snapshots of every active actor are written
    expect(await exited(rt)).toBe(0);
    expect(rowsAtKill).toBeLessThan(msgs.length);
    } finally {
      admin.close();
      reap();
      process.off("exit", reap);
    }

    const q = "SELECT device_id, seq, metric_values, metric_scores, score FROM readings FINAL ORDER BY device_id, seq";
    const [a, b] = await Promise.all([chQuery(ch.url, "chaos_a", q), chQuery(ch.url, "chaos_b", q)]);
    expect(a).toHaveLength(msgs.length);
    expect(b).toHaveLength(msgs.length);
    // Name the differing rows (device, seq, scores) instead of dumping 20,000 rows.
    const rowDiff = a.flatMap((ra, i) => (JSON.stringify(ra) === JSON.stringify(b[i]) ? [] : [{ a: ra, b: b[i] }]));
    expect({ differingRows: rowDiff.length, first: rowDiff.slice(0, 3) }).toEqual({ differingRows: 0, first: [] });
    // Every anomaly explained once with its score (the texts may come from the actors' caches, which
    // a kill empties), and the same anomaly windows (the vectors' source, docs/adr/0015; a window is
    // written 16 readings after its anomaly, so with 20 rounds most are still pending in the actors'
    // state — which the snapshots below compare).
    for (const [q2, least] of [
      ["SELECT device_id, epoch, seq, metric, any(score) AS score FROM analyses GROUP BY device_id, epoch, seq, metric ORDER BY device_id, epoch, seq, metric", 10],
      ["SELECT device_id, epoch, seq, metric, any(score) AS score, any(vector) AS vector FROM anomaly_windows GROUP BY device_id, epoch, seq, metric ORDER BY device_id, epoch, seq, metric", 0],
      // The same alert history (docs/adr/0016): every transition of every alert, with its time (the
      // readings' time), severity and state; a storm of alerts opened across the kill.
      ["SELECT alert_id, version, kind, state, severity, at_ms, started_at_ms, value, flapping FROM alert_transitions FINAL ORDER BY alert_id, version", 10],
    ] as const) {
      const [xa, xb] = await Promise.all([chQuery(ch.url, "chaos_a", q2), chQuery(ch.url, "chaos_b", q2)]);
      expect(xa.length, q2).toBeGreaterThanOrEqual(least);
      const diff = xa.flatMap((r, i) => (JSON.stringify(r) === JSON.stringify(xb[i]) ? [] : [{ a: r, b: xb[i] }]));
      expect({ rows: xb.length, differing: diff.length, first: diff.slice(0, 2) }).toEqual({ rows: xa.length, differing: 0, first: [] });
    }

    const [sa, sb] = await Promise.all([deviceSnapshots(natsA.url, cfgA.nats.kvBucket), deviceSnapshots(natsB.url, cfgA.nats.kvBucket)]);
    expect(sa.size).toBe(DEVICES);
    expect([...sb.keys()].sort()).toEqual([...sa.keys()].sort());
    const differing = [...sa.keys()].filter((k) => sa.get(k) !== sb.get(k));
    // Show the first difference decoded (header: version, lastDeviceSeq, streamSeq; then the state).
    const show = (v: string | undefined) => {
      const b = Buffer.from(v ?? "", "base64");
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      return { lastDeviceSeq: dv.getFloat64(1, true), streamSeq: dv.getFloat64(9, true), state: b.subarray(17).toString("utf8").slice(0, 300) };
    };
    expect(differing.length === 0 ? [] : [differing.length, differing[0], show(sa.get(differing[0]!)), show(sb.get(differing[0]!))]).toEqual([]);
  });
});
