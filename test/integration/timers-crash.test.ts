/**
 * Heartbeat timers survive a crash: a `shoal runtime` process keeps its partitions' pending timers
 * in NATS KV every second (`runtime.timerCheckpointEvery`); it is SIGKILLed while devices that
 * reported once are silent, and the runtime started next reports every one of them offline,
 * no earlier than the heartbeat timeout after its reading. Before, their timers died with the
 * process: a device silent since then was never reported offline. Real nats-server (JetStream,
 * KV) and ClickHouse.
 */
import { Kvm } from "@nats-io/kv";
import { describe, expect, it } from "vitest";
import { JournalPublisher } from "../../src/adapters/nats/journal-publisher.js";
import { startRuntimeRole } from "../../src/cli/roles/runtime-role.js";
import { encodeReading } from "../../src/domain/reading-codec.js";
import { partitionOf } from "../../src/domain/partition.js";
import { readingSubject } from "../../src/domain/subjects.js";
import { chQuery, exited, pipelineConfig, pipelineEnv, quietLogger, spawnRole, waitFor } from "../support/pipeline.js";
import { useRuntimeServices } from "../support/runtime-services.js";

const PARTITIONS = 4;
const DEVICES = 30;
const HEARTBEAT_MS = 6000;
const DB = "timers_crash";

describe("heartbeat timers after a crash", () => {
  const svc = useRuntimeServices();

  it("reports devices that fell silent before a SIGKILL offline after the restart, from the kept timers", async () => {
    const { urls, nc } = svc;
    const settings = {
      SHOAL__NATS__PARTITIONS: String(PARTITIONS),
      SHOAL__CLICKHOUSE__DATABASE: DB,
      SHOAL__RUNTIME__WORKERS: "2",
      SHOAL__RUNTIME__HEARTBEATTIMEOUT: `${HEARTBEAT_MS}ms`,
      SHOAL__RUNTIME__TIMERCHECKPOINTEVERY: "1s",
      // Snapshots and checkpoints soon after the readings: the restart then does not replay them
      // (a replayed reading re-arms its device's heartbeat by itself).
      SHOAL__RUNTIME__SNAPSHOTEVERY: "500ms",
      SHOAL__ACTORCACHE__ENABLED: "false",
    };
    const cfg = pipelineConfig(urls, settings);
    const offline = new Map<string, number>();
    const sub = nc.subscribe("shoal.events.device.>", {
      callback: (_e, m) => {
        const ev = m.json<{ kind: string; deviceId: string; atMs: number }>();
        if (ev.kind === "offline" && !offline.has(ev.deviceId)) offline.set(ev.deviceId, ev.atMs);
      },
    });
    let out = "";
    const child = spawnRole("runtime", pipelineEnv(urls, { ...settings, SHOAL__NODEID: "crash", SHOAL__LOG__LEVEL: "info" }), (s) => (out += s));
    const reap = () => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL");
    try {
      await waitFor(async () => out.includes("runtime started"), Boolean, 60_000, `the runtime process to start; output: ${out}`);
      const pub = JournalPublisher.create(nc, 64);
      const sentAt = Date.now();
      const lastSeq = new Map<number, number>();
      await Promise.all(
        Array.from({ length: DEVICES }, async (_, d) => {
          const deviceId = `tc-${d}`;
          const p = partitionOf(deviceId, PARTITIONS);
          const data = encodeReading({ deviceId, seq: 1, tsMs: sentAt, metrics: { temp: 20 } });
          const { seq } = await pub.publish(readingSubject(p, deviceId), data, `${deviceId}:1`);
          lastSeq.set(p, Math.max(lastSeq.get(p) ?? 0, seq));
        }),
      );
      await waitFor(() => chQuery<{ n: string }>(svc.ch.url, DB, "SELECT toString(count()) AS n FROM readings"), (r) => r[0]?.n === String(DEVICES), 30_000, "every reading stored");
      // Every partition holding a device: its snapshot checkpoint past its readings (no replay of
      // them after the restart) and a timer checkpoint made after them.
      const kv = await new Kvm(nc).open(cfg.nats.kvBucket);
      const checkpointed = async () => {
        let n = 0;
        for (const [p, seq] of lastSeq) {
          const cp = await kv.get(`cp.${p}`);
          const head = await kv.get(`tm.${p}`);
          const cpOk = cp !== null && cp.operation === "PUT" && Number(cp.string()) >= seq;
          if (cpOk && head !== null && head.operation === "PUT" && (head.json<{ at?: number }>().at ?? 0) > sentAt) n++;
        }
        return n;
      };
      await waitFor(checkpointed, (n) => n === lastSeq.size, 15_000, "snapshot and timer checkpoints of every partition");
      expect(offline.size).toBe(0); // still within the heartbeat timeout
      child.kill("SIGKILL");
      await exited(child);

      svc.rt = await startRuntimeRole(cfg, quietLogger("runtime"), "all");
      await waitFor(async () => offline.size, (n) => n === DEVICES, 30_000, "every silent device reported offline after the restart");
      for (const [id, atMs] of offline) expect(atMs - sentAt, id).toBeGreaterThanOrEqual(HEARTBEAT_MS);
    } finally {
      reap();
      sub.unsubscribe();
    }
  }, 150_000);
});
