/**
 * TEST DOUBLE — a local OpenAI-compatible HTTP server for tests and benchmarks (no internet here).
 * It is NOT a model: answers are canned and deterministic. It implements just enough of the API
 * the `openai` package calls: POST /v1/chat/completions (plain text, `response_format` json_object
 * and json_schema) and POST /v1/embeddings. Faults are scriptable per request (429 with
 * Retry-After, 500, hang until the client gives up, slow answers, hold until the test releases
 * it) and every request is counted and timestamped so tests can measure retries, rate limits,
 * coalescing and token use (`usage` is ≈ 4 characters per token of the prompt and the answer).
 */
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** One scripted behaviour for one request. */
export type Fault =
  | { readonly kind: "ok" }
  | { readonly kind: "429"; readonly retryAfterS?: number; readonly retryAfterMs?: number }
  | { readonly kind: "500" }
  | { readonly kind: "hang" }
  | { readonly kind: "slow"; readonly ms: number }
  /** Hold the request open (no answer) until `release()`; then it is answered normally. */
  | { readonly kind: "hold" };

/** A request as the double saw it. */
export interface SeenRequest {
  readonly path: string;
  /** Arrival time, ms (Date.now). */
  readonly at: number;
  readonly body: Record<string, unknown>;
  /** What the double answered (ok, 429, 500, hang, slow, hold). */
  readonly fault: Fault["kind"];
  /** Tokens the answer reported in `usage` (prompt + completion), once answered with 200. */
  answeredTokens?: number;
  /** When the 200 answer was sent, ms (Date.now). */
  answeredAt?: number;
  /** The W3C `traceparent` header the client sent, if any. */
  readonly traceparent?: string;
}

export interface FakeOpenAI {
  /** Base URL for the `openai` client, ending in /v1. */
  readonly baseUrl: string;
  readonly port: number;
  /** Every request received, in arrival order. */
  readonly requests: SeenRequest[];
  /** Requests per path suffix: `chat`, `embeddings`, and `total`. */
  counts(): { chat: number; embeddings: number; total: number };
  /** Answer the next `times` requests with `fault` (queued after earlier scripts). */
  script(fault: Fault, times?: number): void;
  /** Behaviour once the script is used up (default ok). */
  setDefault(fault: Fault): void;
  /** Latency added to every successful answer, ms. */
  setLatency(ms: number): void;
  /** Requests currently held open by a `hold` fault. */
  held(): number;
  /** Answer every held request now (normally, with the configured latency); returns how many. */
  release(): number;
  /** 200 answers sent so far (held requests count once released and answered). */
  answered(): number;
  /** Forget requests and scripts. */
  reset(): void;
  close(): Promise<void>;
}

function tokens(s: string): number {
  return Math.ceil(s.length / 4) + 1;
}

function hashVector(text: string, dims: number): number[] {
  const v: number[] = [];
  let h = 2166136261;
  for (let i = 0; i < dims; i++) {
    for (let j = 0; j < text.length; j++) h = Math.imul(h ^ text.charCodeAt(j), 16777619);
    h = Math.imul(h ^ i, 16777619);
    v.push(((h >>> 0) / 0xffffffff) * 2 - 1);
  }
  return v;
}

/** JSON answer for a json_schema/json_object request, shaped by the schema's properties. */
function jsonAnswer(body: Record<string, unknown>): string {
  const rf = body.response_format as { type?: string; json_schema?: { schema?: { properties?: Record<string, unknown> } } } | undefined;
  const props = rf?.json_schema?.schema?.properties ?? {};
  const user = JSON.stringify(body.messages ?? "");
  if ("score" in props || /anomal(y|ous) is the last/i.test(user)) return JSON.stringify({ score: 0.9 });
  return JSON.stringify({
    summary: "Fake LLM: the value spiked well above its recent range.",
    likelyCause: "Fake LLM: transient overload.",
    suggestedAction: "Fake LLM: inspect the device.",
  });
}

/** Start the double on 127.0.0.1 with a random port. */
export async function startFakeOpenAI(opts: { latencyMs?: number } = {}): Promise<FakeOpenAI> {
  const requests: SeenRequest[] = [];
  let queue: Fault[] = [];
  let fallback: Fault = { kind: "ok" };
  let latencyMs = opts.latencyMs ?? 0;
  const sockets = new Set<Socket>();
  const heldQueue: Array<() => void> = [];
  let answeredCount = 0;
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const send = (res: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}) => {
    if (res.destroyed) return;
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(payload));
  };

  const answer = (path: string, body: Record<string, unknown>, res: ServerResponse, seen?: SeenRequest) => {
    if (!res.destroyed) answeredCount++;
    if (seen) seen.answeredAt = Date.now();
    if (path.endsWith("/embeddings")) {
      const input = body.input;
      const inputs = Array.isArray(input) ? (input as string[]) : [String(input)];
      send(res, 200, {
        object: "list",
        model: body.model,
        data: inputs.map((t, index) => {
          const v = hashVector(t, 16);
          const embedding = body.encoding_format === "base64" ? Buffer.from(new Float32Array(v).buffer).toString("base64") : v;
          return { object: "embedding", index, embedding };
        }),
        usage: { prompt_tokens: inputs.reduce((s, t) => s + tokens(t), 0), total_tokens: 0 },
      });
      return;
    }
    const wantsJson = (body.response_format as { type?: string } | undefined)?.type !== undefined;
    const content = wantsJson ? jsonAnswer(body) : "Fake LLM summary: the fleet had a few anomalies; inspect the listed devices.";
    const prompt = JSON.stringify(body.messages ?? "");
    if (seen) seen.answeredTokens = tokens(prompt) + tokens(content);
    send(res, 200, {
      id: `chatcmpl-fake-${requests.length}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content } }],
      usage: { prompt_tokens: tokens(prompt), completion_tokens: tokens(content), total_tokens: tokens(prompt) + tokens(content) },
    });
  };

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string) => {
    const path = (req.url ?? "").split("?")[0]!;
    if (req.method !== "POST" || !/\/(chat\/completions|embeddings)$/.test(path)) return send(res, 404, { error: { message: `no route ${req.method} ${path}` } });
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return send(res, 400, { error: { message: "invalid JSON body", type: "invalid_request_error" } });
    }
    const fault = queue.shift() ?? fallback;
    const tp = req.headers.traceparent;
    const seen: SeenRequest = { path, at: Date.now(), body, fault: fault.kind, ...(typeof tp === "string" ? { traceparent: tp } : {}) };
    requests.push(seen);
    switch (fault.kind) {
      case "429": {
        const headers: Record<string, string> = {};
        if (fault.retryAfterS !== undefined) headers["retry-after"] = String(fault.retryAfterS);
        if (fault.retryAfterMs !== undefined) headers["retry-after-ms"] = String(fault.retryAfterMs);
        return send(res, 429, { error: { message: "Rate limit reached (fake)", type: "rate_limit_error" } }, headers);
      }
      case "500":
        return send(res, 500, { error: { message: "Internal error (fake)", type: "server_error" } });
      case "hang":
        return; // never answers; the client's timeout/abort ends it, close() destroys the socket
      case "slow":
        return later(fault.ms, () => answer(path, body, res, seen));
      case "hold":
        heldQueue.push(() => (latencyMs > 0 ? later(latencyMs, () => answer(path, body, res, seen)) : answer(path, body, res, seen)));
        return;
      default:
        return latencyMs > 0 ? later(latencyMs, () => answer(path, body, res, seen)) : answer(path, body, res, seen);
    }
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => handle(req, res, Buffer.concat(chunks).toString("utf8")));
  });
  server.keepAliveTimeout = 60_000;
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    port,
    requests,
    counts: () => {
      let chat = 0;
      let embeddings = 0;
      for (const r of requests) {
        if (r.path.endsWith("/embeddings")) embeddings++;
        else chat++;
      }
      return { chat, embeddings, total: requests.length };
    },
    script: (fault, times = 1) => {
      for (let i = 0; i < times; i++) queue.push(fault);
    },
    setDefault: (f) => {
      fallback = f;
    },
    setLatency: (ms) => {
      latencyMs = ms;
    },
    held: () => heldQueue.length,
    release: () => {
      const all = heldQueue.splice(0);
      for (const go of all) go();
      return all.length;
    },
    answered: () => answeredCount,
    reset: () => {
      requests.length = 0;
      answeredCount = 0;
      queue = [];
      fallback = { kind: "ok" };
    },
    close: async () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
