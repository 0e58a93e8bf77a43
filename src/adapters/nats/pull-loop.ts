import { jetstream, type JsMsg } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { backoffMs } from "../../base/backoff.js";
import { sleep } from "../../base/clock.js";

/** Options of {@link startPullLoop}. */
export interface PullLoopOptions {
  readonly stream: string;
  /** Durable consumer name. */
  readonly consumer: string;
  /** Makes sure the stream and its consumer exist (called before the first pull and after every failure). */
  readonly ensure: () => Promise<unknown>;
  /** Messages per pull. */
  readonly batch: number;
  /**
   * `concurrent`: the messages of a pull are handled together (the next pull waits for all of
   * them); `sequential`: one after the other, each awaited before the next is taken.
   */
  readonly mode: "concurrent" | "sequential";
  /** Handle one message (ack/nak/term is the handler's business). */
  readonly handle: (m: JsMsg) => Promise<void>;
}

/** A running pull loop. */
export interface PullLoop {
  /** Stop pulling; resolves once the messages in hand are handled and the open pull expired (≤ 2 s). */
  stop(): Promise<void>;
}

/**
 * The one pull loop of Shoal's durable work consumers (the command downlink, the alert notifier):
 * ensure the stream and consumer, pull `batch` messages at a time and hand them over; a message
 * that arrives after `stop` is nak'd (redelivered to whoever pulls next); a failure (a NATS node
 * away, the stream re-created) waits a backoff (200 ms doubling to 5 s) and ensures again.
 */
export function startPullLoop(nc: NatsConnection, o: PullLoopOptions): PullLoop {
  const js = jetstream(nc);
  let stopped = false;
  const loop = (async () => {
    for (let attempt = 0; !stopped; ) {
      try {
        await o.ensure();
        const consumer = await js.consumers.get(o.stream, o.consumer);
        while (!stopped) {
          const pulled = await consumer.fetch({ max_messages: o.batch, expires: 2_000 });
          const work: Promise<void>[] = [];
          for await (const m of pulled) {
            if (stopped) m.nak();
            else if (o.mode === "sequential") await o.handle(m);
            else work.push(o.handle(m));
          }
          await Promise.all(work);
          attempt = 0;
        }
      } catch {
        if (!stopped) await sleep(backoffMs(attempt++, 200, 5_000));
      }
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
