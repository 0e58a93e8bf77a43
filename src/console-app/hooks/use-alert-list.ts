import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import type { Alert, AlertTransition, WatchAlertsResponse } from "../../gen/shoal/v1/alert_pb.js";
import { useApp } from "../app-context.js";
import type { CallError } from "../api/errors.js";
import { isCancel, toCallError } from "../api/errors.js";
import type { AlertFilter, AlertRow } from "../lib/alerts-model.js";
import { appendPage, applyAlert, applyTransition, fromAlert, severityOf, statesOf } from "../lib/alerts-model.js";
import type { StreamStatus } from "../lib/connection-state.js";
import { useStream } from "./use-stream.js";

export interface AlertList {
  readonly rows: readonly AlertRow[];
  readonly loading: boolean;
  readonly error: CallError | undefined;
  readonly hasMore: boolean;
  readonly loadMore: () => void;
  readonly reload: () => void;
  /** Puts the alert a command returned in the list. */
  readonly applyAlert: (a: Alert) => void;
  readonly status: StreamStatus;
  /** Transitions received live since the page opened. */
  readonly liveCount: number;
}

const PAGE = 100;

/**
 * The alerts matching `filter`: ListAlerts pages kept current by WatchAlerts. The first page is
 * reloaded whenever the stream (re)connects; transitions that arrive while a page loads are
 * applied again after it (a transition's version decides, so nothing is lost or applied twice).
 */
export function useAlertList(filter: AlertFilter): AlertList {
  const { clients } = useApp();
  const [rows, setRows] = useState<readonly AlertRow[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<CallError | undefined>(undefined);
  const [liveCount, setLiveCount] = useState(0);
  const token = useRef("");
  const inflight = useRef<AbortController | null>(null);
  const held = useRef<AlertTransition[]>([]);
  const filterRef = useRef(filter);
  filterRef.current = filter;
  const key = `${filter.states.join(",")}|${filter.device}|${filter.minSeverity ?? ""}`;

  const load = useCallback(
    (first: boolean) => {
      inflight.current?.abort();
      const ac = new AbortController();
      inflight.current = ac;
      held.current = [];
      setLoading(true);
      const f = filterRef.current;
      clients.alerts
        .listAlerts({ states: statesOf(f.states), deviceId: f.device, minSeverity: severityOf(f.minSeverity), limit: PAGE, pageToken: first ? "" : token.current }, { signal: ac.signal })
        .then(
          (res) => {
            if (ac.signal.aborted) return;
            inflight.current = null;
            token.current = res.nextPageToken;
            const page = res.alerts.map(fromAlert);
            setRows((cur) => {
              let next = first ? page : appendPage(cur, page);
              for (const t of held.current) next = applyTransition(next, t, filterRef.current);
              held.current = [];
              return next;
            });
            setError(undefined);
            setLoading(false);
          },
          (e: unknown) => {
            if (isCancel(e, ac.signal)) return;
            inflight.current = null;
            setError(toCallError(e));
            setLoading(false);
          },
        );
    },
    [clients],
  );

  useEffect(() => {
    token.current = "";
    setRows([]);
    load(true);
    return () => inflight.current?.abort();
  }, [key, load]);

  const connects = useRef(0);
  useEffect(() => {
    connects.current = 0;
  }, [filter.device]);

  const status = useStream<WatchAlertsResponse>({
    name: "alerts",
    key: `alerts|${filter.device}`,
    open: (signal, onHeader) => clients.alerts.watchAlerts({ deviceId: filter.device }, { signal, onHeader }),
    onConnected: () => {
      // The first connect races the first page (loaded anyway); later ones follow a gap: resync.
      if (connects.current++ > 0) load(true);
    },
    onMessage: (m) => {
      const t = m.transition;
      if (t === undefined) return;
      setLiveCount((n) => n + 1);
      if (inflight.current !== null) held.current.push(t);
      setRows((cur) => applyTransition(cur, t, filterRef.current));
    },
  });

  return {
    rows,
    loading,
    error,
    hasMore: token.current !== "",
    loadMore: () => load(false),
    reload: () => load(true),
    applyAlert: (a) => setRows((cur) => applyAlert(cur, a, filterRef.current)),
    status,
    liveCount,
  };
}
