import * as grpc from "@grpc/grpc-js";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import type { CallCase } from "./requests.js";

/**
 * Sends a {@link CallCase} as it is (raw bytes, no serializer in the way) and reports how the call
 * ended: its status code and message, or `HANG` when nothing came back in time. Server streams
 * that a request opened are given `streamWaitMs`: a first message or an end counts as answered,
 * silence as `OPEN` (the stream was accepted and is waiting for events; the client then cancels).
 */

/** How a call ended. */
export interface CallResult {
  /** A gRPC status name ("OK", "INVALID_ARGUMENT", ...), "OPEN" (a silent accepted stream), "HANG", or "CLIENT_REFUSED" (the client library would not send it). */
  readonly code: string;
  readonly details: string;
}

/** Limits of one call. */
export interface CallOptions {
  /** Deadline the client sets, ms (the server's own limit is shorter: reaching it is a hang). */
  readonly deadlineMs: number;
  /** How long a server stream may stay silent before it counts as OPEN, ms. */
  readonly streamWaitMs: number;
}

const raw = (b: Buffer) => b;

/** `c` on the gRPC server behind `client`. */
export function grpcCall(client: grpc.Client, service: DescService, method: DescMethod, c: CallCase, o: CallOptions): Promise<CallResult> {
  const path = `/${service.typeName}/${method.name}`;
  // grpc-js answers INTERNAL for a second authorization value but then still starts the stream,
  // which Node's http2 refuses; grpc-js then drops the whole connection and every call in flight
  // on it fails UNAVAILABLE (@grpc/grpc-js 1.14.7 load-balancing-call.js: no return after
  // outputStatus). Such a call never reaches the server: not sent.
  if (c.metadata.filter(([k]) => k === "authorization").length > 1) return Promise.resolve({ code: "CLIENT_REFUSED", details: "two authorization values (grpc-js cannot send them)" });
  const md = new grpc.Metadata();
  try {
    for (const [k, v] of c.metadata) md.add(k, v);
  } catch (e) {
    return Promise.resolve({ code: "CLIENT_REFUSED", details: (e as Error).message });
  }
  const options = { deadline: Date.now() + o.deadlineMs };
  return new Promise<CallResult>((resolve) => {
    let settled = false;
    const done = (r: CallResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(guard);
      resolve(r);
    };
    // A call the client's own deadline did not end either (the library itself stuck).
    const guard = setTimeout(() => done({ code: "HANG", details: `no status within ${o.deadlineMs + 5000} ms` }), o.deadlineMs + 5000);
    const fromError = (e: grpc.ServiceError) => {
      const clientDeadline = e.code === grpc.status.DEADLINE_EXCEEDED && /^Deadline exceeded/.test(e.details ?? "");
      done(clientDeadline ? { code: "HANG", details: e.details } : { code: grpc.status[e.code] ?? String(e.code), details: e.details ?? "" });
    };
    try {
      if (method.methodKind === "server_streaming") {
        const s = client.makeServerStreamRequest(path, raw, raw, c.body, md, options);
        const stop = (r: CallResult) => {
          clearTimeout(wait);
          done(r);
          s.cancel();
        };
        const wait = setTimeout(() => stop({ code: "OPEN", details: "" }), o.streamWaitMs);
        s.on("data", () => stop({ code: "OK", details: "stream message" }));
        s.on("error", (e: grpc.ServiceError) => {
          clearTimeout(wait);
          if (!settled) fromError(e);
        });
        s.on("status", (st: grpc.StatusObject) => {
          clearTimeout(wait);
          if (st.code === grpc.status.OK) done({ code: "OK", details: st.details });
        });
      } else {
        client.makeUnaryRequest(path, raw, raw, c.body, md, options, (e) => (e ? fromError(e) : done({ code: "OK", details: "" })));
      }
    } catch (e) {
      done({ code: "CLIENT_REFUSED", details: (e as Error).message });
    }
  });
}

const CONNECT_CODES: Record<string, string> = {
  canceled: "CANCELLED",
  unknown: "UNKNOWN",
  invalid_argument: "INVALID_ARGUMENT",
  deadline_exceeded: "DEADLINE_EXCEEDED",
  not_found: "NOT_FOUND",
  already_exists: "ALREADY_EXISTS",
  permission_denied: "PERMISSION_DENIED",
  resource_exhausted: "RESOURCE_EXHAUSTED",
  failed_precondition: "FAILED_PRECONDITION",
  aborted: "ABORTED",
  out_of_range: "OUT_OF_RANGE",
  unimplemented: "UNIMPLEMENTED",
  internal: "INTERNAL",
  unavailable: "UNAVAILABLE",
  data_loss: "DATA_LOSS",
  unauthenticated: "UNAUTHENTICATED",
};

function envelope(flags: number, data: Buffer, lengthDelta = 0): Buffer {
  const h = Buffer.alloc(5);
  h[0] = flags;
  h.writeUInt32BE(Math.max(0, Math.min(2 ** 32 - 1, data.length + lengthDelta)), 1);
  return Buffer.concat([h, data]);
}

/**
 * `c` on the console's HTTP port: Connect unary (`application/proto`, half the time
 * `application/json` with the bytes as they are), Connect server streaming (an envelope whose
 * length sometimes lies), or gRPC-web (framed).
 */
export async function httpCall(baseUrl: string, service: DescService, method: DescMethod, c: CallCase, o: CallOptions, variant: number): Promise<CallResult> {
  const headers: Record<string, string> = { "connect-protocol-version": "1" };
  for (const [k, v] of c.metadata) if (typeof v === "string" && !k.endsWith("-bin")) headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
  const streaming = method.methodKind === "server_streaming";
  const grpcWeb = variant % 4 === 0;
  const lie = variant % 16 === 1 ? 3 : variant % 16 === 2 ? -1 : 0;
  let body: Buffer;
  if (grpcWeb) {
    headers["content-type"] = "application/grpc-web+proto";
    body = envelope(0, c.body, lie);
  } else if (streaming) {
    headers["content-type"] = "application/connect+proto";
    body = envelope(0, c.body, lie);
  } else {
    headers["content-type"] = variant % 2 === 0 ? "application/json" : "application/proto";
    body = c.body;
  }
  const ac = new AbortController();
  // A stream that answers nothing within 2 s past the stream wait is open (see below), not worth the whole deadline.
  const hang = setTimeout(() => ac.abort(), streaming ? Math.min(o.deadlineMs, 2_000 + o.streamWaitMs) : o.deadlineMs);
  try {
    let res: Response;
    try {
      res = await fetch(`${baseUrl}/${service.typeName}/${method.name}`, { method: "POST", headers, body, signal: ac.signal });
    } catch (e) {
      // connect-node sends a stream's response headers with its first message: a silent stream (a
      // watch of a device with no new readings) has none yet, which is no hang.
      if (ac.signal.aborted) return streaming ? { code: "OPEN", details: "no message yet" } : { code: "HANG", details: "no response headers" };
      return { code: "CLIENT_REFUSED", details: (e as Error).message };
    }
    if (grpcWeb) return await grpcWebStatus(res, ac, o);
    if (!streaming || res.status !== 200) {
      const text = await res.text();
      if (res.status === 200) return { code: "OK", details: "" };
      try {
        const j = JSON.parse(text) as { code?: string; message?: string };
        return { code: CONNECT_CODES[j.code ?? ""] ?? `HTTP_${res.status}`, details: j.message ?? "" };
      } catch {
        return { code: `HTTP_${res.status}`, details: text.slice(0, 200) };
      }
    }
    return await connectStreamStatus(res, ac, o);
  } catch (e) {
    return ac.signal.aborted ? { code: "HANG", details: "no answer" } : { code: "CLIENT_REFUSED", details: (e as Error).message };
  } finally {
    clearTimeout(hang);
  }
}

/** Reads enveloped messages until a data message (OK), the end (its status) or `streamWaitMs` of silence (OPEN). */
async function readEnvelopes(res: Response, ac: AbortController, o: CallOptions, end: (flags: number, data: Buffer) => CallResult | undefined): Promise<CallResult> {
  const reader = res.body!.getReader();
  let buf = Buffer.alloc(0);
  const quiet = setTimeout(() => ac.abort(), o.streamWaitMs);
  try {
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch {
        return { code: "OPEN", details: "" };
      }
      if (chunk.done) return { code: "DATA_LOSS", details: "stream ended without an end message" };
      buf = Buffer.concat([buf, chunk.value]);
      while (buf.length >= 5) {
        const len = buf.readUInt32BE(1);
        if (buf.length < 5 + len) break;
        const flags = buf[0]!;
        const data = buf.subarray(5, 5 + len);
        buf = buf.subarray(5 + len);
        const r = end(flags, data);
        if (r !== undefined) {
          ac.abort();
          return r;
        }
      }
    }
  } finally {
    clearTimeout(quiet);
  }
}

function connectStreamStatus(res: Response, ac: AbortController, o: CallOptions): Promise<CallResult> {
  return readEnvelopes(res, ac, o, (flags, data) => {
    if ((flags & 0x02) === 0) return { code: "OK", details: "stream message" };
    const j = JSON.parse(data.toString("utf8") || "{}") as { error?: { code?: string; message?: string } };
    return j.error ? { code: CONNECT_CODES[j.error.code ?? ""] ?? "UNKNOWN", details: j.error.message ?? "" } : { code: "OK", details: "" };
  });
}

function grpcWebStatus(res: Response, ac: AbortController, o: CallOptions): Promise<CallResult> {
  const fromTrailers = (text: string): CallResult => {
    const status = /grpc-status:\s*(\d+)/i.exec(text)?.[1];
    const message = /grpc-message:\s*([^\r\n]*)/i.exec(text)?.[1] ?? "";
    return { code: status === undefined ? "UNKNOWN" : (grpc.status[Number(status)] ?? status), details: decodeURIComponent(message) };
  };
  const headerStatus = res.headers.get("grpc-status");
  if (headerStatus !== null) {
    ac.abort();
    return Promise.resolve(fromTrailers(`grpc-status: ${headerStatus}\r\ngrpc-message: ${res.headers.get("grpc-message") ?? ""}`));
  }
  if (res.status !== 200) return Promise.resolve({ code: `HTTP_${res.status}`, details: "" });
  return readEnvelopes(res, ac, o, (flags, data) => ((flags & 0x80) === 0 ? { code: "OK", details: "stream message" } : fromTrailers(data.toString("utf8"))));
}
