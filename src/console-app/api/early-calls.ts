import { parseHash } from "../lib/router.js";
import { TOKEN_KEY } from "./token-key.js";

/** Most anomalous devices the fleet page shows (WatchFleet `top`). */
export const FLEET_TOP = 10;
/** Devices of the fleet table's first ListDevices page: the visible rows and a few screens more (fewer than 200 would fetch the next page at once). */
export const FIRST_DEVICE_PAGE_SIZE = 200;
/** Devices per later ListDevices page, fetched as the table scrolls. */
export const DEVICE_PAGE_SIZE = 500;
/** The app's GetInfo deadline (ms), sent as grpc-timeout. */
export const GET_INFO_TIMEOUT_MS = 10_000;

/** An early call not taken within this many ms is cancelled (the user is at the login form, or elsewhere). */
export const EARLY_MAX_AGE_MS = 10_000;

/** One request as the app's gRPC-web transport sends it: path under the origin and enveloped body. */
export interface EarlyRequest {
  readonly path: string;
  readonly body: Uint8Array<ArrayBuffer>;
  readonly timeoutMs?: number;
}

// Protocol Buffers, by hand: boot.ts must run without the protobuf runtime (it is what makes the
// app's scripts large). Fields in number order, defaults left out: the bytes protobuf-es writes
// (early-calls.test.ts checks them against it). A mismatch costs only the head start.
const varint = (n: number): number[] => {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
};
const uintField = (no: number, v: number): number[] => (v === 0 ? [] : [(no << 3) | 0, ...varint(v)]);
const stringField = (no: number, v: string): number[] => {
  if (v === "") return [];
  const bytes = new TextEncoder().encode(v);
  return [(no << 3) | 2, ...varint(bytes.length), ...bytes];
};
/** A message as one gRPC-web data frame: flag 0, 4-byte big-endian length, the message. */
const envelope = (message: readonly number[]): Uint8Array<ArrayBuffer> => {
  const n = message.length;
  return Uint8Array.from([0, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff, ...message]);
};

/** shoal.v1.AdminService/GetInfo with GetInfoRequest {}. */
export const getInfoRequest = (): EarlyRequest => ({ path: "/shoal.v1.AdminService/GetInfo", body: envelope([]), timeoutMs: GET_INFO_TIMEOUT_MS });
/** shoal.v1.QueryService/WatchFleet with WatchFleetRequest { top }. */
export const watchFleetRequest = (top: number): EarlyRequest => ({ path: "/shoal.v1.QueryService/WatchFleet", body: envelope(uintField(1, top)) });
/** shoal.v1.QueryService/ListDevices with ListDevicesRequest { id_prefix, page_size } (first page: no token). */
export const listDevicesRequest = (prefix: string, pageSize: number): EarlyRequest => ({
  path: "/shoal.v1.QueryService/ListDevices",
  body: envelope([...stringField(1, prefix), ...uintField(2, pageSize)]),
});

/** What the page at `hash` asks first: GetInfo always; on the fleet page its stream and first device page. */
export function earlyRequestsFor(hash: string): EarlyRequest[] {
  const route = parseHash(hash);
  const out = [getInfoRequest()];
  if (route.page === "fleet") out.push(watchFleetRequest(FLEET_TOP), listDevicesRequest(route.prefix, FIRST_DEVICE_PAGE_SIZE));
  return out;
}

const keyOf = (url: string, authorization: string, body: Uint8Array) => `${url}\n${authorization}\n${body.join(",")}`;

interface Entry {
  readonly response: Promise<Response>;
  readonly ctrl: AbortController;
  readonly cancelExpiry: () => void;
}

/**
 * Requests sent before the app could send them, and the `fetch` that hands each over to the app's
 * identical request (same URL, token and body bytes; each at most once) — any other request goes
 * to the network. One not taken within `maxAgeMs` is cancelled. One that failed on the network
 * is replaced by the app's own; an answer (even an error status) is the app's, as if it had asked
 * itself: it is the same request.
 */
export class EarlyCalls {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly net: typeof globalThis.fetch,
    private readonly maxAgeMs: number = EARLY_MAX_AGE_MS,
    private readonly setTimer: (fn: () => void, ms: number) => () => void = (fn, ms) => {
      const t = setTimeout(fn, ms);
      return () => clearTimeout(t);
    },
  ) {}

  /** Requests sent and not taken yet (their URLs). */
  get pending(): string[] {
    return [...this.entries.keys()].map((k) => k.split("\n", 1)[0]!);
  }

  /** Sends `r` to `origin` with `token` (as the app's transport would) unless the same is pending. */
  send(origin: string, r: EarlyRequest, token: string): void {
    const url = `${origin}${r.path}`;
    const authorization = token === "" ? "" : `Bearer ${token}`;
    const key = keyOf(url, authorization, r.body);
    if (this.entries.has(key)) return;
    const headers: Record<string, string> = { "content-type": "application/grpc-web+proto", "x-grpc-web": "1", "x-user-agent": "shoal-console-boot" };
    if (authorization !== "") headers["authorization"] = authorization;
    if (r.timeoutMs !== undefined) headers["grpc-timeout"] = `${r.timeoutMs}m`;
    const ctrl = new AbortController();
    const response = this.net(url, { method: "POST", headers, body: r.body, signal: ctrl.signal, redirect: "error" });
    response.catch(() => {}); // Remembered, not unhandled: the taker asks afresh.
    const cancelExpiry = this.setTimer(() => {
      if (this.entries.get(key)?.ctrl !== ctrl) return;
      this.entries.delete(key);
      ctrl.abort();
    }, this.maxAgeMs);
    this.entries.set(key, { response, ctrl, cancelExpiry });
  }

  /** The fetch for the app's transport (see the class comment). */
  readonly fetch = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const e = this.take(input, init);
    if (e === undefined) return this.net(input, init);
    const signal = init?.signal;
    if (signal) {
      if (signal.aborted) e.ctrl.abort();
      else signal.addEventListener("abort", () => e.ctrl.abort(), { once: true });
    }
    return e.response.catch(() => this.net(input, init));
  };

  /** Cancels and forgets every request not taken. */
  clear(): void {
    for (const e of this.entries.values()) {
      e.cancelExpiry();
      e.ctrl.abort();
    }
    this.entries.clear();
  }

  private take(input: RequestInfo | URL, init: RequestInit | undefined): Entry | undefined {
    if (this.entries.size === 0 || typeof input !== "string" || !(init?.body instanceof Uint8Array)) return undefined;
    const authorization = new Headers(init.headers).get("authorization") ?? "";
    const key = keyOf(input, authorization, init.body);
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    this.entries.delete(key);
    e.cancelExpiry();
    return e;
  }
}

/** The property of `window` through which boot.ts hands its calls to the app (two scripts of one page). */
const GLOBAL = "shoalEarlyCalls";

/**
 * boot.ts: sends what the page at the window's URL asks first (with the tab's token) and leaves
 * the calls on `window` for the app.
 */
export function sendEarlyCalls(w: Window): EarlyCalls {
  const calls = new EarlyCalls(w.fetch.bind(w));
  let token = "";
  try {
    token = w.sessionStorage.getItem(TOKEN_KEY) ?? "";
  } catch {
    // No storage: no token, as the app's token store reads it.
  }
  for (const r of earlyRequestsFor(w.location.hash)) calls.send(w.location.origin, r, token);
  (w as unknown as Record<string, unknown>)[GLOBAL] = calls;
  return calls;
}

/** main.tsx: the calls boot.ts sent, if it ran. */
export function earlyCallsOf(w: Window): Pick<EarlyCalls, "fetch"> | undefined {
  const c = (w as unknown as Record<string, unknown>)[GLOBAL];
  return c instanceof Object && typeof (c as { fetch?: unknown }).fetch === "function" ? (c as Pick<EarlyCalls, "fetch">) : undefined;
}
