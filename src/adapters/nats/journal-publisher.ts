import { jetstream, type JetStreamClient, type PubAck } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { ShoalError } from "../../errors/shoal-error.js";

/** Result of a journal publish. */
export interface Published {
  /** Stream sequence assigned (or of the original, for a duplicate). */
  readonly seq: number;
  /** True when JetStream recognised the Nats-Msg-Id inside its duplicate window. */
  readonly duplicate: boolean;
}

/**
 * Publishes to JetStream with many publishes in flight (pipelined, never awaited one by one).
 * `publish` resolves on the PubAck. Retryable failures (timeouts, no responders while the server
 * restarts) are retried with backoff using the same Nats-Msg-Id, so retries cannot duplicate.
 */
export class JournalPublisher {
  private inFlight = 0;
  private waiters: Array<() => void> = [];
  private closed = false;

  constructor(
    private readonly js: JetStreamClient,
    private readonly maxInFlight: number,
    private readonly timeoutMs = 5000,
  ) {}

  static create(nc: NatsConnection, maxInFlight: number): JournalPublisher {
    return new JournalPublisher(jetstream(nc), maxInFlight);
  }

  /** Publishes currently awaiting their PubAck. */
  get pending(): number {
    return this.inFlight;
  }

  async publish(subject: string, data: Uint8Array, msgId: string): Promise<Published> {
    while (this.inFlight >= this.maxInFlight) await new Promise<void>((r) => this.waiters.push(r));
    this.inFlight++;
    try {
      let delay = 50;
      for (;;) {
        if (this.closed) throw new ShoalError("journal publisher closed", { code: "closed", retryable: true });
        try {
          const ack: PubAck = await this.js.publish(subject, data, { msgID: msgId, timeout: this.timeoutMs });
          return { seq: ack.seq, duplicate: ack.duplicate };
        } catch (e) {
          if (!isRetryablePublishError(e)) {
            throw new ShoalError(`JetStream publish to ${subject} failed: ${(e as Error).message}`, { code: "unavailable", retryable: false, cause: e });
          }
          await new Promise((r) => setTimeout(r, delay));
          delay = Math.min(delay * 2, 2000);
        }
      }
    } finally {
      this.inFlight--;
      this.waiters.shift()?.();
    }
  }

  close(): void {
    this.closed = true;
  }
}

function isRetryablePublishError(e: unknown): boolean {
  const msg = e instanceof Error ? `${e.name} ${e.message}` : String(e);
  // Stream config errors (no stream for subject after creation, wrong subject) are permanent only
  // if they persist; a restarting server answers 503 / no responders / timeout: retry those.
  return /timeout|no responders|503|connection|closed|disconnect|draining/i.test(msg);
}
