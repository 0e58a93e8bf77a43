/**
 * TEST DOUBLE — a local HTTP server standing in for Weaviate, which cannot run here. It is NOT
 * Weaviate: objects live in memory and search is exact brute-force cosine. It implements exactly
 * the endpoints Shoal's adapter (src/adapters/weaviate) and weaviate-ts-client 2.2.0 call:
 * GET /v1/meta, GET /v1/.well-known/ready|live, GET /v1/schema, GET|DELETE /v1/schema/{className},
 * POST /v1/schema, POST /v1/batch/objects, DELETE /v1/batch/objects and POST /v1/graphql (Get with
 * nearVector + where + limit, Aggregate meta count; weaviate-graphql.ts).
 *
 * Every request it receives and every answer it sends is validated against Weaviate's published
 * OpenAPI document for v1.25.34 (test/fixtures/weaviate/, weaviate-openapi.ts). A request that fails
 * is answered 422 and recorded in `failures`; an answer that fails is recorded and sent as 500
 * (a bug of the double). Tests assert `failures` is empty. Faults are scriptable (`failNext`; their
 * answers stand for a failing server or proxy and are not validated).
 */
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { QUERY_MAXIMUM_RESULTS, QueryError, executeGraphQL, matchWhere } from "./weaviate-graphql.js";
import type { StoredClass, StoredObject, StoredProperty, Where } from "./weaviate-graphql.js";
import { WeaviateOpenApi } from "./weaviate-openapi.js";

const TAG = "[weaviate-double] (TEST DOUBLE, not Weaviate)";

export interface ValidationFailure {
  readonly direction: "request" | "response";
  readonly method: string;
  readonly path: string;
  readonly problems: readonly string[];
}

export interface WeaviateDoubleOptions {
  /** When set, requests need `Authorization: Bearer <apiKey>` (else 401). */
  readonly apiKey?: string;
  /** Largest batch delete per request (Weaviate's QUERY_MAXIMUM_RESULTS). */
  readonly maxDeletePerRequest?: number;
  /** Log lines (each starts with the double's tag). Default: failures to stderr. */
  readonly log?: (line: string) => void;
}

export interface WeaviateDouble {
  /** Base URL for the adapter (no /v1). */
  readonly url: string;
  /** Requests or answers that did not match Weaviate's OpenAPI document. */
  readonly failures: ValidationFailure[];
  /** Every request seen: `METHOD /v1/path`. */
  readonly requests: string[];
  /** The next `times` requests (to any path but /v1/meta) are answered `status` with an ErrorResponse. */
  failNext(status: number, times?: number): void;
  /** Objects of a class, for assertions. */
  objects(className: string): StoredObject[];
  close(): Promise<void>;
}

const TEXT_TOKENIZATION_DEFAULT = "word";

function errorBody(message: string) {
  return { error: [{ message }] };
}

export async function startWeaviateDouble(opts: WeaviateDoubleOptions = {}): Promise<WeaviateDouble> {
  const api = new WeaviateOpenApi();
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const say = (msg: string) => log(`${TAG} ${msg}`);
  const failures: ValidationFailure[] = [];
  const requests: string[] = [];
  const classes = new Map<string, StoredClass & { def: Record<string, unknown> }>();
  const faults: number[] = [];
  const maxDelete = opts.maxDeletePerRequest ?? QUERY_MAXIMUM_RESULTS;

  function createClass(body: Record<string, unknown>): [number, unknown] {
    const name = String(body.class ?? "");
    if (!/^[A-Z][_0-9A-Za-z]*$/.test(name)) return [422, errorBody(`'${name}' is not a valid class name`)];
    if (classes.has(name)) return [422, errorBody(`class name "${name}" already exists`)];
    const props = ((body.properties ?? []) as Record<string, unknown>[]).map((p) => {
      const dataType = p.dataType as string[];
      return { ...p, dataType, ...(dataType[0] === "text" ? { tokenization: p.tokenization ?? TEXT_TOKENIZATION_DEFAULT } : {}) } as StoredProperty & Record<string, unknown>;
    });
    const bad = props.find((p) => !["text", "number", "int", "boolean"].includes(p.dataType[0]!));
    if (bad) return [422, errorBody(`property '${bad.name}': data type ${bad.dataType.join(",")} is not implemented by the double`)];
    const vic = (body.vectorIndexConfig ?? {}) as Record<string, unknown>;
    const def = { ...body, vectorizer: body.vectorizer ?? "none", vectorIndexType: body.vectorIndexType ?? "hnsw", vectorIndexConfig: { ...vic, distance: vic.distance ?? "cosine" }, properties: props };
    if (def.vectorizer !== "none") return [422, errorBody(`vectorizer ${String(def.vectorizer)} is not available in the double (none only)`)];
    classes.set(name, { name, properties: props, objects: new Map(), def });
    return [200, def];
  }

  function importObjects(body: { objects?: Record<string, unknown>[] }): [number, unknown] {
    const now = Date.now();
    const out = (body.objects ?? []).map((raw) => {
      const echo = { class: raw.class, id: raw.id, properties: raw.properties ?? {}, vector: raw.vector, creationTimeUnix: now, lastUpdateTimeUnix: now };
      const fail = (message: string) => ({ ...echo, result: { errors: errorBody(message) } });
      const c = classes.get(String(raw.class));
      if (c === undefined) return fail(`class '${String(raw.class)}' not present in schema`);
      const vector = (raw.vector ?? []) as number[];
      if (vector.length === 0) return fail("the class has vectorizer none: a vector is required");
      if (c.dims !== undefined && vector.length !== c.dims) return fail(`new node has a vector with length ${vector.length}. Existing nodes have vectors with length ${c.dims}`);
      const props = (raw.properties ?? {}) as Record<string, unknown>;
      for (const [k, v] of Object.entries(props)) {
        const p = c.properties.find((x) => x.name === k);
        if (p === undefined) return fail(`invalid object: no such prop with name '${k}' found in class '${c.name}' in the schema`);
        const dt = p.dataType[0];
        const ok = dt === "text" ? typeof v === "string" : dt === "number" ? typeof v === "number" : dt === "int" ? Number.isInteger(v) : typeof v === "boolean";
        if (!ok) return fail(`invalid object: invalid ${dt} property '${k}' on class '${c.name}'`);
      }
      c.dims ??= vector.length;
      const id = String(raw.id).toLowerCase();
      const prev = c.objects.get(id);
      c.objects.set(id, { id, vector, properties: props, creationTimeUnix: prev?.creationTimeUnix ?? now, lastUpdateTimeUnix: now });
      return { ...echo, result: {} };
    });
    return [200, out];
  }

  function batchDelete(body: { match?: { class?: string; where?: Where }; output?: string; dryRun?: boolean }): [number, unknown] {
    const c = classes.get(String(body.match?.class));
    if (c === undefined) return [422, errorBody(`class '${String(body.match?.class)}' not present in schema`)];
    if (body.match?.where === undefined) return [422, errorBody("validate: match.where is required")];
    let matched: StoredObject[];
    try {
      matched = [...c.objects.values()].filter((o) => matchWhere(body.match!.where!, c, o)).slice(0, maxDelete);
    } catch (e) {
      return [422, errorBody((e as Error).message)];
    }
    if (!body.dryRun) for (const o of matched) c.objects.delete(o.id);
    const results = { matches: matched.length, limit: maxDelete, successful: body.dryRun ? 0 : matched.length, failed: 0 };
    return [200, { match: body.match, output: body.output ?? "minimal", dryRun: body.dryRun ?? false, results }];
  }

  function route(method: string, path: string, body: unknown): [number, unknown] {
    const tail = path.slice("/v1".length);
    if (method === "GET" && tail === "/meta") return [200, { hostname: "http://[::]:8080", version: api.version, modules: {} }];
    if (method === "GET" && (tail === "/.well-known/ready" || tail === "/.well-known/live")) return [200, undefined];
    if (method === "GET" && tail === "/schema") return [200, { classes: [...classes.values()].map((c) => c.def) }];
    if (method === "GET" && tail.startsWith("/schema/")) {
      const c = classes.get(decodeURIComponent(tail.slice("/schema/".length)));
      return c ? [200, c.def] : [404, undefined];
    }
    if (method === "DELETE" && tail.startsWith("/schema/")) {
      classes.delete(decodeURIComponent(tail.slice("/schema/".length)));
      return [200, undefined];
    }
    if (method === "POST" && tail === "/schema") return createClass(body as Record<string, unknown>);
    if (method === "POST" && tail === "/batch/objects") return importObjects(body as { objects?: Record<string, unknown>[] });
    if (method === "DELETE" && tail === "/batch/objects") return batchDelete(body as Parameters<typeof batchDelete>[0]);
    if (method === "POST" && tail === "/graphql") return [200, executeGraphQL(String((body as { query?: unknown }).query ?? ""), classes)];
    throw new QueryError(`${method} ${path} is valid Weaviate API the double does not implement`);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? "/", "http://double");
    const method = req.method ?? "GET";
    const path = u.pathname;
    requests.push(`${method} ${path}`);
    const send = (status: number, body: unknown, scripted = false) => {
      // Scripted faults stand for a failing server or proxy: their status need not be in the API.
      const problems = path.startsWith("/v1/") && !scripted ? api.validateResponse(method, path.slice(3), status, body) : [];
      if (problems.length > 0) {
        failures.push({ direction: "response", method, path, problems });
        say(`answer to ${method} ${path} does not match the OpenAPI document: ${problems.join("; ")}`);
        status = 500;
        body = errorBody(`${TAG}: invalid answer: ${problems.join("; ")}`);
      }
      res.writeHead(status, body === undefined ? {} : { "content-type": "application/json" });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    let body: unknown;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      return send(400, errorBody("the body is not JSON"));
    }
    if (opts.apiKey !== undefined && req.headers.authorization !== `Bearer ${opts.apiKey}`) return send(401, undefined);
    if (!path.startsWith("/v1/")) {
      failures.push({ direction: "request", method, path, problems: ["outside /v1"] });
      return send(404, undefined);
    }
    const problems = api.validateRequest(method, path.slice(3), u.searchParams, body);
    if (problems.length > 0) {
      failures.push({ direction: "request", method, path, problems });
      say(`request ${method} ${path} does not match the OpenAPI document: ${problems.join("; ")}`);
      // go-swagger (Weaviate's server framework) answers 422 to any request failing validation, declared or not.
      return send(422, errorBody(`${TAG}: request does not match Weaviate's API: ${problems.join("; ")}`), true);
    }
    if (path !== "/v1/meta" && faults.length > 0) {
      const status = faults.shift()!;
      return send(status, errorBody(`${TAG}: scripted fault ${status}`), true);
    }
    try {
      const [status, out] = route(method, path, body);
      send(status, out);
    } catch (e) {
      failures.push({ direction: "request", method, path, problems: [(e as Error).message] });
      say((e as Error).message);
      send(500, errorBody(`${TAG}: ${(e as Error).message}`));
    }
  }

  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      say(`internal error: ${(e as Error).message}`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  if (opts.log) say(`listening on http://127.0.0.1:${port} (validating against Weaviate ${api.version}'s OpenAPI document)`);
  return {
    url: `http://127.0.0.1:${port}`,
    failures,
    requests,
    failNext(status, times = 1) {
      for (let i = 0; i < times; i++) faults.push(status);
    },
    objects: (name) => [...(classes.get(name)?.objects.values() ?? [])],
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
