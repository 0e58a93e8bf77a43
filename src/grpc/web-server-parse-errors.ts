import type { UniversalHandler, UniversalServerResponse } from "@connectrpc/connect/protocol";

/**
 * The web port's answer to a request body that is not the method's request message:
 * INVALID_ARGUMENT with the reason, as on the gRPC ports (src/grpc/malformed-request.ts), instead of
 * connect-node's INTERNAL "parse binary: …".
 *
 * Why here: @connectrpc/connect 2.1.1 decodes a binary request (`createBinarySerialization` in
 * protocol/serialization.js) before any interceptor runs and throws ConnectError("parse binary: …",
 * Code.Internal) when protobuf-es refuses the bytes; the router has no option for it (a JSON body
 * that cannot be read is already INVALID_ARGUMENT). So each route's universal handler is wrapped
 * and its answer rewritten when — and only when — it is exactly that error: code internal with a
 * message starting "parse binary: ". Every protocol the web port speaks carries it differently:
 * - Connect unary: HTTP 500 and a JSON error body `{"code":"internal","message":…}` → HTTP 400,
 *   `invalid_argument`;
 * - Connect streaming: the end-stream envelope (flag 0x02) `{"error":{"code":"internal",…}}`;
 * - gRPC-web: the trailer envelope (flag 0x80) `grpc-status: 13` / `grpc-message: …` → 3;
 * - gRPC (HTTP/2 with TLS): the HTTP trailers, set once the body has ended.
 * A compressed error (the client asked for it and it is over connect's compressMinBytes) is left
 * as it is. test/integration/fuzz-grpc.test.ts sends malformed bodies over Connect and gRPC-web to
 * every service of the web port and finds no INTERNAL; an upgrade of connect that changes the
 * message is caught there.
 */

const PREFIX = "parse binary: ";
const enc = new TextEncoder();
const dec = new TextDecoder();

/** `h` answering INVALID_ARGUMENT where it would answer INTERNAL "parse binary: …" (see the module comment). */
export function invalidArgumentOnParseErrors(h: UniversalHandler): UniversalHandler {
  const reword = (m: string) => `the request is not a valid ${h.method.input.typeName}: ${m.slice(PREFIX.length)}`;
  const wrapped = async (req: Parameters<UniversalHandler>[0]): Promise<UniversalServerResponse> => {
    const res = await h(req);
    const type = res.header?.get("content-type") ?? "";
    if (res.body === undefined || res.header?.has("content-encoding") || res.header?.has("connect-content-encoding")) return res;
    if (res.status === 500 && type.startsWith("application/json")) return connectUnary(res, reword);
    if (type.startsWith("application/grpc-web")) return { ...res, body: mapChunks(res.body, (c) => (c[0] === 0x80 ? grpcWebTrailer(c, reword) : c)) };
    if (type.startsWith("application/connect+")) return { ...res, body: mapChunks(res.body, (c) => (c[0] === 0x02 ? connectEndStream(c, reword) : c)) };
    if (type.startsWith("application/grpc") && res.trailer !== undefined) return { ...res, body: fixTrailerAtEnd(res.body, res.trailer, reword) };
    return res;
  };
  return Object.assign(wrapped, {
    protocolNames: h.protocolNames,
    allowedMethods: h.allowedMethods,
    supportedContentType: h.supportedContentType,
    requestPath: h.requestPath,
    service: h.service,
    method: h.method,
  });
}

/** A Connect unary error answer, rewritten when it is the parse error. */
async function connectUnary(res: UniversalServerResponse, reword: (m: string) => string): Promise<UniversalServerResponse> {
  const chunks: Uint8Array[] = [];
  for await (const c of res.body!) chunks.push(c);
  const original = { ...res, body: once(concat(chunks)) };
  let err: { code?: unknown; message?: unknown };
  try {
    err = JSON.parse(dec.decode(concat(chunks))) as typeof err;
  } catch {
    return original;
  }
  if (err.code !== "internal" || typeof err.message !== "string" || !err.message.startsWith(PREFIX)) return original;
  const body = enc.encode(JSON.stringify({ ...err, code: "invalid_argument", message: reword(err.message) }));
  const header = new Headers(res.header);
  header.set("content-length", String(body.byteLength));
  return { ...res, status: 400, header, body: once(body) };
}

/** A gRPC-web trailer envelope, rewritten when it carries the parse error (kept byte for byte otherwise). */
function grpcWebTrailer(chunk: Uint8Array, reword: (m: string) => string): Uint8Array {
  const data = envelopeData(chunk);
  if (data === undefined) return chunk;
  const lines = dec.decode(data).split("\r\n");
  const field = (name: string) => lines.findIndex((l) => l.toLowerCase().startsWith(`${name}:`));
  const status = field("grpc-status");
  const message = field("grpc-message");
  if (status < 0 || message < 0 || lines[status]!.slice("grpc-status:".length).trim() !== "13") return chunk;
  let text: string;
  try {
    text = decodeURIComponent(lines[message]!.slice("grpc-message:".length).trim());
  } catch {
    return chunk;
  }
  if (!text.startsWith(PREFIX)) return chunk;
  lines[status] = "grpc-status: 3";
  lines[message] = `grpc-message: ${encodeURIComponent(reword(text))}`;
  return envelope(0x80, enc.encode(lines.join("\r\n")));
}

/** A Connect end-stream envelope, rewritten when it carries the parse error. */
function connectEndStream(chunk: Uint8Array, reword: (m: string) => string): Uint8Array {
  const data = envelopeData(chunk);
  if (data === undefined) return chunk;
  let end: { error?: { code?: unknown; message?: unknown } };
  try {
    end = JSON.parse(dec.decode(data)) as typeof end;
  } catch {
    return chunk;
  }
  const e = end.error;
  if (e?.code !== "internal" || typeof e.message !== "string" || !e.message.startsWith(PREFIX)) return chunk;
  return envelope(0x02, enc.encode(JSON.stringify({ ...end, error: { ...e, code: "invalid_argument", message: reword(e.message) } })));
}

/** The body as it is, with the gRPC trailers rewritten once it has ended (the adapter writes them after the body). */
async function* fixTrailerAtEnd(body: AsyncIterable<Uint8Array>, trailer: Headers, reword: (m: string) => string): AsyncIterable<Uint8Array> {
  yield* body;
  let text: string;
  try {
    text = decodeURIComponent(trailer.get("grpc-message") ?? "");
  } catch {
    return;
  }
  if (trailer.get("grpc-status") !== "13" || !text.startsWith(PREFIX)) return;
  trailer.set("grpc-status", "3");
  trailer.set("grpc-message", encodeURIComponent(reword(text)));
}

/** The data of a chunk that is exactly one envelope (connect joins each envelope into one chunk), else undefined. */
function envelopeData(chunk: Uint8Array): Uint8Array | undefined {
  if (chunk.byteLength < 5) return undefined;
  const len = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength).getUint32(1);
  return chunk.byteLength === 5 + len ? chunk.subarray(5) : undefined;
}

function envelope(flags: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + data.byteLength);
  out[0] = flags;
  new DataView(out.buffer).setUint32(1, data.byteLength);
  out.set(data, 5);
  return out;
}

async function* mapChunks(body: AsyncIterable<Uint8Array>, f: (c: Uint8Array) => Uint8Array): AsyncIterable<Uint8Array> {
  for await (const c of body) yield f(c);
}

async function* once(c: Uint8Array): AsyncIterable<Uint8Array> {
  yield c;
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
