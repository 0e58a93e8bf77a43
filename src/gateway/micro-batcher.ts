import type { Clock, TimerHandle } from "../ports/clock.js";

export interface MicroBatcherOptions<I, O> {
  /** Flush when this many items are pending. Default 256. */
  readonly maxBatch?: number;
  /** Flush at most this long after the first pending item, ms. 0 = next macrotask. Default 1. */
  readonly maxWaitMs?: number;
  readonly clock: Clock;
  /**
   * Most batches in flight; while at the limit, items keep accumulating and go out when a batch
   * completes (bigger batches under load, low latency when idle). Default unlimited.
   */
  readonly maxConcurrentBatches?: number;
  /**
   * Process one batch; resolve with one result per item in order. An item may resolve to an Error
   * instance to fail only that item; a rejection fails the whole batch.
   */
  readonly run: (items: readonly I[]) => Promise<ReadonlyArray<O | Error>>;
}

/** A function that queues one item and resolves with its result; `flush` sends what is pending now. */
export interface MicroBatcher<I, O> {
  (item: I): Promise<O>;
  flush(): void;
  /** Items waiting for the next flush. */
  readonly pending: number;
}

/**
 * Micro-batching: items submitted within `maxWaitMs` (or until `maxBatch`) go upstream as one call.
 * Used by the gRPC client (Score → ScoreBatch) and by remote embeddings (one request, many inputs).
 */
export function createMicroBatcher<I, O>(opts: MicroBatcherOptions<I, O>): MicroBatcher<I, O> {
  const maxBatch = opts.maxBatch ?? 256;
  const maxWaitMs = opts.maxWaitMs ?? 1;
  let items: I[] = [];
  let waiters: Array<{ resolve: (o: O) => void; reject: (e: unknown) => void }> = [];
  let timer: TimerHandle | undefined;
  let immediate = false;

  const maxConcurrent = opts.maxConcurrentBatches ?? Infinity;
  let inFlight = 0;

  const flush = (): void => {
    if (timer !== undefined) {
      opts.clock.clearTimeout(timer);
      timer = undefined;
    }
    immediate = false;
    while (items.length > 0 && inFlight < maxConcurrent) send();
  };

  const send = (): void => {
    const batch = items.length <= maxBatch ? items : items.slice(0, maxBatch);
    const ws = items.length <= maxBatch ? waiters : waiters.slice(0, maxBatch);
    if (batch === items) {
      items = [];
      waiters = [];
    } else {
      items = items.slice(maxBatch);
      waiters = waiters.slice(maxBatch);
    }
    inFlight++;
    const settled = () => {
      inFlight--;
      if (items.length > 0) flush();
    };
    let p: Promise<ReadonlyArray<O | Error>>;
    try {
      p = opts.run(batch);
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(
      (results) => {
        settled();
        for (let i = 0; i < ws.length; i++) {
          const r = results[i];
          if (r === undefined && results.length !== ws.length) ws[i]!.reject(new Error(`batch returned ${results.length} results for ${ws.length} items`));
          else if (r instanceof Error) ws[i]!.reject(r);
          else ws[i]!.resolve(r as O);
        }
      },
      (e: unknown) => {
        settled();
        for (const w of ws) w.reject(e);
      },
    );
  };

  const submit = ((item: I): Promise<O> =>
    new Promise<O>((resolve, reject) => {
      items.push(item);
      waiters.push({ resolve, reject });
      if (items.length >= maxBatch) {
        if (inFlight < maxConcurrent) flush();
        return;
      }
      if (maxWaitMs <= 0) {
        if (!immediate) {
          immediate = true;
          setImmediate(flush);
        }
      } else if (timer === undefined) {
        timer = opts.clock.setTimeout(flush, maxWaitMs);
      }
    })) as MicroBatcher<I, O>;
  submit.flush = flush;
  Object.defineProperty(submit, "pending", { get: () => items.length });
  return submit;
}
