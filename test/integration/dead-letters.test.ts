import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { ClickHouseSink, migrate } from "../../src/adapters/clickhouse/index.js";
import { startDeadLetterConsumer } from "../../src/adapters/nats/dead-letter-consumer.js";
import { createEventPublisher } from "../../src/adapters/nats/event-publisher.js";
import { ensureJournal } from "../../src/adapters/nats/streams.js";
import { systemClock } from "../../src/base/clock.js";
import { deadLetterJson } from "../../src/domain/dead-letter.js";
import { startClickHouse, startNats, type ServiceHandle } from "../harness/index.js";
import { chQuery, quietLogger, waitFor } from "../support/pipeline.js";

/**
 * Dead letters have one queryable record (docs/adr/0013-rollups-and-retention.md): what reaches the
 * SHOAL_DLQ stream (the bridge's rejects, the runtime's) is copied into ClickHouse's dead_letters,
 * acked after the insert, once however often it is delivered.
 */
let nats: ServiceHandle;
let ch: ServiceHandle;
let nc: NatsConnection;
const database = "dead_letters_test";
const opts = () => ({ url: ch.url, database, username: "default", password: "" });

beforeAll(async () => {
  [nats, ch] = await Promise.all([startNats(), startClickHouse()]);
  nc = await connect({ servers: nats.url });
  await Promise.all([migrate(opts()), ensureJournal(nc, { stream: "READINGS", partitions: 1, duplicateWindowMs: 120_000, maxAgeMs: 86_400_000, maxAckPending: 1000, replicas: 1 })]);
}, 90_000);

afterAll(async () => {
  await nc?.close();
  await Promise.all([nats?.cleanup(), ch?.cleanup()]);
});

const ROWS = "SELECT stage, code, reason, source, payload, toString(at_ms) AS at FROM dead_letters FINAL ORDER BY at_ms, code";

describe("dead letters into ClickHouse (real NATS and ClickHouse)", () => {
  it("copies the bridge's dead letters from the DLQ stream into dead_letters, once each, acked after the insert", async () => {
    const sink = ClickHouseSink.create({ ...opts(), flushRows: 1000, flushIntervalMs: 20, lazyFlushIntervalMs: 100 }, systemClock);
    const consumer = await startDeadLetterConsumer(nc, sink, quietLogger("dlq"));
    // What the bridge does with a bad MQTT payload (src/bridge/bridge.ts → EventPublisher.deadLetter).
    let t = 1_700_000_000_000;
    const events = createEventPublisher(nc, () => t++);
    await events.deadLetter({ stage: "bridge", code: "malformed_json", reason: "Unexpected end of JSON input", source: "devices/pump-1/readings", payload: new TextEncoder().encode('{"deviceId":"pump-1",') });
    await events.deadLetter({ stage: "bridge", code: "malformed_protobuf", reason: "invalid wire type 7", source: "devices/pump-2/readings", payload: new Uint8Array([0xff, 0x00, 0x80]) });
    const want = [
      { stage: "bridge", code: "malformed_json", reason: "Unexpected end of JSON input", source: "devices/pump-1/readings", payload: '{"deviceId":"pump-1",', at: "1700000000000" },
      { stage: "bridge", code: "malformed_protobuf", reason: "invalid wire type 7", source: "devices/pump-2/readings", payload: "base64:/wCA", at: "1700000000001" },
    ];
    await waitFor(() => chQuery(ch.url, database, ROWS), (r) => r.length === 2, 20_000, "the dead letters in ClickHouse");
    expect(await chQuery(ch.url, database, ROWS)).toEqual(want);

    // The same dead letter delivered again (a publish retried by a crashed bridge): replaced, not doubled.
    await jetstream(nc).publish("shoal.dlq.bridge", new TextEncoder().encode(deadLetterJson({ stage: "bridge", code: "malformed_json", reason: "Unexpected end of JSON input", source: "devices/pump-1/readings", payload: new TextEncoder().encode('{"deviceId":"pump-1",') }, 1_700_000_000_000)));
    await waitFor(async () => consumer.stored(), (n) => n === 3, 20_000, "the third message copied");
    await fetch(`${ch.url}/?database=${database}`, { method: "POST", body: "OPTIMIZE TABLE dead_letters FINAL" });
    expect(await chQuery(ch.url, database, ROWS)).toEqual(want);
    expect(await chQuery(ch.url, database, "SELECT toString(count()) AS n FROM dead_letters")).toEqual([{ n: "2" }]);

    // Everything acked: nothing pending on the durable consumer.
    const info = await (await jetstream(nc).consumers.get("SHOAL_DLQ", "shoal-dead-letters")).info();
    expect({ pending: info.num_pending, unacked: info.num_ack_pending }).toEqual({ pending: 0, unacked: 0 });
    await consumer.close();
    await sink.close();
  });

  it("a consumer started later copies what the stream already holds (durable)", async () => {
    const events = createEventPublisher(nc, () => 1_700_000_100_000);
    await events.deadLetter({ stage: "runtime", code: "batch_failed", reason: "killed 5 workers", source: "shoal.readings.0.batch", payload: new TextEncoder().encode("{}") });
    const sink = ClickHouseSink.create({ ...opts(), flushRows: 1000, flushIntervalMs: 20, lazyFlushIntervalMs: 100 }, systemClock);
    const consumer = await startDeadLetterConsumer(nc, sink, quietLogger("dlq"));
    const rows = await waitFor(() => chQuery<{ code: string }>(ch.url, database, "SELECT code FROM dead_letters FINAL WHERE stage = 'runtime'"), (r) => r.length === 1, 20_000, "the runtime's dead letter");
    expect(rows).toEqual([{ code: "batch_failed" }]);
    await consumer.close();
    await sink.close();
  });
});
