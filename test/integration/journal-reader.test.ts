import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startNats, type ServiceHandle } from "../harness/index.js";
import { ensureJournal } from "../../src/adapters/nats/streams.js";
import { createJournalReader } from "../../src/adapters/nats/journal-reader.js";
import type { JournalDecoder } from "../../src/ports/actor-host.js";

/**
 * Recovery's journal reader on a real nats-server: a partition's range in stream order, messages
 * beyond `toSeq` left out, undecodable ones skipped, a range whose end lies past the partition's
 * last message (a filtered consumer's ack floor follows the whole stream) or that holds no message
 * of the partition, and no consumer left behind.
 */
describe("journal reader (recovery replay) on NATS", () => {
  const STREAM = "READINGS";
  let nats: ServiceHandle;
  let nc: NatsConnection;
  // Stream seqs 1..12: partition 0 gets 1,3,5,7,9,11 (payload "a<seq>", seq 7 is corrupt), partition 1 the even ones.
  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    await ensureJournal(nc, { stream: STREAM, partitions: 2, duplicateWindowMs: 60_000, maxAgeMs: 3_600_000, maxAckPending: 1000, replicas: 1 });
    const js = jetstream(nc);
    for (let seq = 1; seq <= 12; seq++) {
      const p = seq % 2 === 1 ? 0 : 1;
      await js.publish(`shoal.readings.${p}.d${seq}`, new TextEncoder().encode(seq === 7 ? "corrupt" : `a${seq}`));
    }
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.cleanup();
  });

  const decode: JournalDecoder = (data, _streamSeq, _partition, start, end, emit) => {
    const text = new TextDecoder().decode(data.subarray(start, end));
    if (!text.startsWith("a")) throw new RangeError("not a reading");
    emit("t", text, { type: "m" });
  };
  const readAll = async (partition: number, from: number, to: number) => {
    const out: [string, number][] = [];
    for await (const batch of createJournalReader(nc, STREAM, decode).read(partition, from, to)) for (const e of batch) out.push([e.actorId, e.streamSeq]);
    return out;
  };

  it("replays a partition's range in stream order, skipping undecodable messages and stopping at toSeq", async () => {
    expect(await readAll(0, 3, 9)).toEqual([["a3", 3], ["a5", 5], ["a9", 9]]);
    expect(await readAll(1, 1, 6)).toEqual([["a2", 2], ["a4", 4], ["a6", 6]]);
  });

  it("ends at the partition's last message when toSeq lies beyond it, and yields nothing for an empty range", async () => {
    expect(await readAll(0, 9, 1_000)).toEqual([["a9", 9], ["a11", 11]]);
    expect(await readAll(0, 12, 1_000)).toEqual([]);
    expect(await readAll(1, 13, 20)).toEqual([]);
    expect(await readAll(0, 5, 4)).toEqual([]);
  });

  it("leaves no consumer behind", async () => {
    await readAll(0, 1, 12);
    const names: string[] = [];
    for await (const c of (await jetstreamManager(nc)).consumers.list(STREAM)) names.push(c.name);
    expect(names.sort()).toEqual(["shoal-p000", "shoal-p001"]);
  });
});
