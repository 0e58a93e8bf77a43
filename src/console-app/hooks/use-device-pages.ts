import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import type { DeviceSummary } from "../../gen/shoal/v1/query_pb.js";
import { useApp } from "../app-context.js";
import { DEVICE_PAGE_SIZE, FIRST_DEVICE_PAGE_SIZE } from "../api/early-calls.js";
import type { CallError } from "../api/errors.js";
import { isCancel, toCallError } from "../api/errors.js";
import type { RowWindow } from "../lib/virtual-window.js";
import { needsNextPage } from "../lib/virtual-window.js";

/** A device of the fleet table, with plain numbers (protobuf's bigints cost more and format worse). */
export interface DeviceRow {
  readonly id: string;
  readonly online: boolean;
  readonly lastSeenMs: number;
  readonly readings: number;
  readonly epoch: number;
  readonly lastSeq: number;
  readonly anomalies: number;
  /** Incidents those anomalies make (anomalies of one fault a few readings apart count once). */
  readonly incidents: number;
  readonly lastEvent: string;
  readonly lastEventMs: number;
}

const toRow = (d: DeviceSummary): DeviceRow => ({
  id: d.deviceId,
  online: d.online,
  lastSeenMs: Number(d.lastSeenMs),
  readings: Number(d.readings),
  epoch: Number(d.epoch),
  lastSeq: Number(d.lastSeq),
  anomalies: Number(d.anomalies),
  incidents: Number(d.incidents),
  lastEvent: d.lastEvent,
  lastEventMs: Number(d.lastEventMs),
});


export interface DevicePages {
  /** Loaded rows (grows as the user scrolls; the same array object, see `version`). */
  readonly rows: readonly DeviceRow[];
  /** Bumped whenever rows change. */
  readonly version: number;
  readonly hasMore: boolean;
  readonly loading: boolean;
  readonly error: CallError | undefined;
  /** Feed it the table's window: the next page is fetched when the window nears the end. */
  readonly onWindow: (win: RowWindow) => void;
  /** Start over (same prefix). */
  readonly reload: () => void;
  /** After an error: ask for the page that failed again. */
  readonly retry: () => void;
}

/**
 * The fleet's devices whose id starts with `prefix`, paged from the server with ListDevices' page
 * tokens as the table scrolls (tokens are sequential: pages come in order, one request at a time).
 */
export function useDevicePages(prefix: string): DevicePages {
  const { clients } = useApp();
  const rows = useRef<DeviceRow[]>([]);
  const token = useRef("");
  const inflight = useRef<AbortController | null>(null);
  const [generation, setGeneration] = useState(0);
  const [state, setState] = useState({ version: 0, hasMore: true, loading: false, error: undefined as CallError | undefined });
  const latest = useRef(state);
  latest.current = state;

  const loadNext = useCallback(() => {
    if (inflight.current !== null) return;
    const ac = new AbortController();
    inflight.current = ac;
    setState((s) => ({ ...s, loading: true, error: undefined }));
    // The first page smaller: the visible rows come sooner (and boot.ts asked for exactly it).
    const pageSize = token.current === "" ? FIRST_DEVICE_PAGE_SIZE : DEVICE_PAGE_SIZE;
    clients.query.listDevices({ idPrefix: prefix, pageSize, pageToken: token.current }, { signal: ac.signal }).then(
      (res) => {
        if (ac.signal.aborted) return;
        inflight.current = null;
        for (const d of res.devices) rows.current.push(toRow(d));
        token.current = res.nextPageToken;
        setState((s) => ({ version: s.version + 1, hasMore: res.nextPageToken !== "", loading: false, error: undefined }));
      },
      (e: unknown) => {
        if (isCancel(e, ac.signal)) return;
        inflight.current = null;
        // hasMore turns false so scrolling does not hammer a failing server; Retry resumes.
        setState((s) => ({ ...s, loading: false, hasMore: false, error: toCallError(e) }));
      },
    );
  }, [clients, prefix, generation]);

  useEffect(() => {
    rows.current = [];
    token.current = "";
    setState((s) => ({ version: s.version + 1, hasMore: true, loading: false, error: undefined }));
    loadNext();
    return () => {
      inflight.current?.abort();
      inflight.current = null;
    };
  }, [loadNext]);

  const onWindow = useCallback(
    (win: RowWindow) => {
      const s = latest.current;
      if (s.error === undefined && needsNextPage(win, { loaded: rows.current.length, hasMore: s.hasMore, loading: inflight.current !== null }, 100)) loadNext();
    },
    [loadNext],
  );

  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  const retry = useCallback(() => {
    setState((s) => ({ ...s, hasMore: true, error: undefined }));
    loadNext();
  }, [loadNext]);

  return { rows: rows.current, version: state.version, hasMore: state.hasMore, loading: state.loading, error: state.error, onWindow, reload, retry };
}
