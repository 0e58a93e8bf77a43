import { useEffect, useRef, useState } from "preact/hooks";
import { useApp } from "../app-context.js";
import { isCancel, isUnauthenticated, toCallError } from "../api/errors.js";
import type { StreamStatus } from "../lib/connection-state.js";
import { reconnectDelayMs } from "../lib/connection-state.js";

/** A stream open this long without failing counts as live even before its first message. */
export const ASSUME_LIVE_MS = 3000;

export interface StreamOptions<T> {
  /** Name in the connection status (one per stream of a page). */
  readonly name: string;
  /** The stream restarts when this changes; null keeps it closed. */
  readonly key: string | null;
  /** Opens the server stream (pass `signal` and `onHeader` as call options). */
  readonly open: (signal: AbortSignal, onHeader: () => void) => AsyncIterable<T>;
  readonly onMessage: (message: T) => void;
  /** The stream is established (headers or a first message arrived, or it stayed open ASSUME_LIVE_MS), on every (re)connect: the moment to reload what the stream only patches. */
  readonly onConnected?: () => void;
}

/**
 * A server stream held open while the component is mounted: cancelled when the page is left or the
 * key changes (a browser on HTTP/1.1 has ~6 connections per origin, one per open stream), reopened
 * with backoff (1 s → 30 s) when the server or the network drops it — no polling. Unauthenticated
 * ends it and returns the app to the login form.
 */
export function useStream<T>(opts: StreamOptions<T>): StreamStatus {
  const app = useApp();
  const [status, setStatus] = useState<StreamStatus>({ state: "connecting" });
  const latest = useRef(opts);
  latest.current = opts;

  useEffect(() => {
    if (opts.key === null) return;
    const name = opts.name;
    const stop = new AbortController();
    const report = (s: StreamStatus) => {
      if (stop.signal.aborted) return;
      setStatus(s);
      app.connection.set(name, s);
    };
    let wake: (() => void) | undefined;
    const onOnline = () => wake?.();
    window.addEventListener("online", onOnline);

    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        const t = setTimeout(done, ms);
        function done() {
          clearTimeout(t);
          wake = undefined;
          stop.signal.removeEventListener("abort", done);
          resolve();
        }
        wake = done;
        stop.signal.addEventListener("abort", done);
      });

    void (async () => {
      let attempt = 0;
      while (!stop.signal.aborted) {
        report({ state: "connecting" });
        const call = new AbortController();
        const cancel = () => call.abort();
        stop.signal.addEventListener("abort", cancel);
        let error = "the server closed the stream";
        let connected = false;
        const onHeader = () => {
          if (connected || call.signal.aborted) return;
          connected = true;
          attempt = 0;
          report({ state: "live", sinceMs: Date.now() });
          latest.current.onConnected?.();
        };
        // Connect servers send a stream's headers with its first message: a quiet stream would look
        // "connecting" forever. WatchAlerts sends a first message at once (no transition); any
        // stream that has neither failed nor ended after a few seconds is taken as established.
        const settled = setTimeout(onHeader, ASSUME_LIVE_MS);
        try {
          for await (const m of latest.current.open(call.signal, onHeader)) {
            if (stop.signal.aborted) break;
            onHeader();
            latest.current.onMessage(m);
          }
        } catch (e) {
          if (isCancel(e, stop.signal)) break;
          if (isUnauthenticated(e)) {
            app.onUnauthenticated(e);
            break;
          }
          const ce = toCallError(e);
          error = ce.codeName === "ResourceExhausted" ? "too slow to keep up; reconnecting" : ce.message;
        } finally {
          clearTimeout(settled);
          stop.signal.removeEventListener("abort", cancel);
          call.abort();
        }
        if (stop.signal.aborted) break;
        const delay = reconnectDelayMs(attempt++, Math.random());
        report({ state: "retrying", error, retryAtMs: Date.now() + delay });
        await sleep(delay);
      }
    })();

    return () => {
      stop.abort();
      window.removeEventListener("online", onOnline);
      app.connection.set(name, undefined);
    };
    // `open`, `onMessage` and `onConnected` are read through the ref: only the key restarts the stream.
  }, [opts.key, opts.name]);

  return status;
}
