import { jetstream, type JetStreamClient } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { EventPublisher } from "../../ports/journal.js";
import { dlqSubject } from "../../domain/subjects.js";
import { deadLetterJson, type DeadLetterInput } from "../../domain/dead-letter.js";

/** Events over core NATS (JSON), dead letters into the SHOAL_DLQ stream (awaited PubAck). */
export function createEventPublisher(nc: NatsConnection, now: () => number = Date.now): EventPublisher & { deadLetters: number } {
  const js: JetStreamClient = jetstream(nc);
  const enc = new TextEncoder();
  const self = {
    deadLetters: 0,
    event(subject: string, data: unknown) {
      nc.publish(subject, enc.encode(JSON.stringify(data)));
    },
    async deadLetter(dl: DeadLetterInput) {
      await js.publish(dlqSubject(dl.stage), enc.encode(deadLetterJson(dl, now())), { timeout: 5000 });
      self.deadLetters++;
    },
  };
  return self;
}
