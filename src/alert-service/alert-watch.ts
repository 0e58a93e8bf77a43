import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { AlertFeed, AlertTransitionRecord } from "../ports/alert-read-model.js";
import type { WatchAlertsResponseSchema } from "../gen/shoal/v1/alert_pb.js";
import { transitionOf } from "./convert.js";

type Item = MessageInitShape<typeof WatchAlertsResponseSchema>;

export interface AlertWatchOptions {
  /** Most watchers at once (fleet and single devices together). */
  readonly maxWatchers: number;
  /** Transitions a watcher may have waiting; one more and it is cut off (RESOURCE_EXHAUSTED). */
  readonly bufferItems: number;
}

/**
 * Live alert transitions for WatchAlerts: each watcher subscribes to the feed (its device's, or
 * the fleet's) with a bounded queue; its first message, once subscribed, has no transition. A watcher whose client reads slower than transitions arrive
 * is cut off, so a slow client costs at most `bufferItems` items (as src/query/watch-hub.ts).
 */
export class AlertWatchHub {
  private count = 0;
  /** Watchers cut off for reading too slowly, since start. */
  cutOff = 0;

  constructor(
    private readonly feed: AlertFeed,
    private readonly opts: AlertWatchOptions,
  ) {}

  /** Watchers open now. */
  get watchers(): number {
    return this.count;
  }

  /** Transitions of `deviceId` (undefined: every device) as they come, until `signal` aborts (or the watcher is cut off: throws). */
  async *watch(deviceId: string | undefined, signal: AbortSignal): AsyncGenerator<Item> {
    if (this.count >= this.opts.maxWatchers) throw new ConnectError(`more than ${this.opts.maxWatchers} alert watchers`, Code.ResourceExhausted);
    const queue: Item[] = [];
    let wake: (() => void) | undefined;
    let failed: ConnectError | undefined;
    const onTransition = (t: AlertTransitionRecord) => {
      if (failed) return;
      if (queue.length >= this.opts.bufferItems) {
        failed = new ConnectError(`cut off: the client read slower than the alert transitions came (${this.opts.bufferItems} waiting)`, Code.ResourceExhausted);
        queue.length = 0;
        this.cutOff++;
      } else queue.push({ transition: transitionOf(t) });
      wake?.();
    };
    this.count++;
    const stop = this.feed.subscribe(deviceId, onTransition);
    const onAbort = () => wake?.();
    signal.addEventListener("abort", onAbort);
    try {
      // Established: one message without a transition, at once (a Connect/gRPC-web server sends a
      // stream's headers with its first message, so a quiet watch would otherwise look unanswered).
      yield {};
      for (;;) {
        if (failed) throw failed;
        if (signal.aborted) return;
        const next = queue.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      stop();
      this.count--;
    }
  }
}
