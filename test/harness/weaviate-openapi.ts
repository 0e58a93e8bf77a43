/**
 * Validation of HTTP traffic against Weaviate's published OpenAPI (Swagger 2.0) document, pinned
 * to the server release the double stands in for (test/fixtures/weaviate/, see its README). Used by
 * the TEST DOUBLE in weaviate-double.ts: every request it receives and every answer it sends is
 * checked here. Swagger 2.0 definitions are JSON Schema draft 4 plus `x-*` extensions; `x-nullable`
 * is honoured (null allowed), other extensions and `example` are ignored. Formats are checked
 * (uuid, int64 as integers, uri, date-time); unknown keywords are not errors.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import AjvModule from "ajv-draft-04";
import type { ValidateFunction } from "ajv-draft-04";

// A CommonJS package: its class is the module's `default` property.
const Ajv = AjvModule.default;

export const WEAVIATE_SPEC_VERSION = "1.25.34";
const SPEC_PATH = fileURLToPath(new URL(`../fixtures/weaviate/openapi-v${WEAVIATE_SPEC_VERSION}.json`, import.meta.url));
const DOC = "weaviate.json";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

interface Parameter {
  readonly name: string;
  readonly in: "query" | "path" | "body" | "header" | "formData";
  readonly type?: string;
  readonly required?: boolean;
  readonly schema?: JsonObject;
}

interface Operation {
  readonly parameters: Parameter[];
  readonly responses: Record<string, { schema?: JsonObject }>;
}

/** `x-nullable: true` → the type also admits null; `#/definitions/X` → the shared document's. */
function prepare(node: Json): Json {
  if (Array.isArray(node)) return node.map(prepare);
  if (node === null || typeof node !== "object") return node;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === "$ref" && typeof v === "string" && v.startsWith("#/definitions/")) out[k] = `${DOC}${v}`;
    else out[k] = prepare(v);
  }
  if (node["x-nullable"] === true && typeof node.type === "string") out.type = [node.type, "null"];
  return out;
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const integer = { type: "number" as const, validate: (n: number) => Number.isInteger(n) };
const anything = () => true;

export class WeaviateOpenApi {
  readonly version = WEAVIATE_SPEC_VERSION;
  private readonly ajv: InstanceType<typeof Ajv>;
  private readonly spec: { paths: Record<string, Record<string, JsonObject>>; parameters: Record<string, Parameter> };
  private readonly routes: { template: string; re: RegExp }[];
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor() {
    const raw = JSON.parse(readFileSync(SPEC_PATH, "utf8")) as JsonObject;
    this.spec = raw as unknown as WeaviateOpenApi["spec"];
    if ((raw.info as JsonObject).version !== WEAVIATE_SPEC_VERSION) throw new Error(`${SPEC_PATH} is not Weaviate ${WEAVIATE_SPEC_VERSION}`);
    this.ajv = new Ajv({
      strict: false,
      allErrors: true,
      logger: false,
      formats: {
        uuid: (s: string) => UUID.test(s),
        int64: integer,
        int: integer,
        uint64: { type: "number", validate: (n: number) => Number.isInteger(n) && n >= 0 },
        uri: (s: string) => URL.canParse(s),
        url: anything,
        "date-time": (s: string) => !Number.isNaN(Date.parse(s)),
        email: (s: string) => /^[^@\s]+@[^@\s]+$/.test(s),
        float: anything,
        float32: anything,
        float64: anything,
        object: anything,
        string: anything,
        boolean: anything,
      },
    });
    this.ajv.addSchema({ id: DOC, definitions: prepare(raw.definitions as Json) } as object);
    this.routes = Object.keys(this.spec.paths).map((template) => ({
      template,
      re: new RegExp(`^${template.replace(/[.]/g, "\\.").replace(/\{[^}]+\}/g, "[^/]+")}$`),
    }));
  }

  /** The spec's path template for a concrete path under /v1 (e.g. `/schema/{className}`), or undefined. */
  route(path: string): string | undefined {
    // Literal templates win over parameterised ones (`/batch/objects` before `/objects/{id}`-like).
    const hits = this.routes.filter((r) => r.re.test(path));
    hits.sort((a, b) => (a.template.includes("{") ? 1 : 0) - (b.template.includes("{") ? 1 : 0));
    return hits[0]?.template;
  }

  private operation(template: string, method: string): Operation | undefined {
    const op = this.spec.paths[template]?.[method.toLowerCase()] as unknown as { parameters?: (Parameter | { $ref: string })[]; responses: Operation["responses"] } | undefined;
    if (op === undefined) return undefined;
    const parameters = (op.parameters ?? []).map((p) => ("$ref" in p ? this.spec.parameters[p.$ref.replace("#/parameters/", "")]! : p));
    return { parameters, responses: op.responses };
  }

  private check(key: string, schema: JsonObject, value: unknown): string[] {
    let v = this.compiled.get(key);
    if (v === undefined) {
      v = this.ajv.compile(prepare(schema) as object) as ValidateFunction;
      this.compiled.set(key, v);
    }
    if (v(value)) return [];
    return (v.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? "invalid"}${e.params && "allowedValues" in e.params ? ` (${JSON.stringify(e.params.allowedValues)})` : ""}`);
  }

  /** Problems of a request (operation known, query parameters declared and typed, body valid), [] when valid. */
  validateRequest(method: string, path: string, query: URLSearchParams, body: unknown): string[] {
    const template = this.route(path);
    if (template === undefined) return [`${method} ${path}: no such path in Weaviate ${this.version}'s API`];
    const op = this.operation(template, method);
    if (op === undefined) return [`${method} ${template}: no such operation in Weaviate ${this.version}'s API`];
    const problems: string[] = [];
    for (const [name, value] of query) {
      const p = op.parameters.find((x) => x.in === "query" && x.name === name);
      if (p === undefined) problems.push(`query parameter ${name} is not declared for ${method} ${template}`);
      else if (p.type === "integer" && !/^-?\d+$/.test(value)) problems.push(`query parameter ${name} must be an integer`);
      else if (p.type === "boolean" && !/^(true|false)$/.test(value)) problems.push(`query parameter ${name} must be a boolean`);
    }
    const bodyParam = op.parameters.find((p) => p.in === "body");
    if (bodyParam?.schema !== undefined) {
      if (body === undefined && bodyParam.required) problems.push(`${method} ${template}: the body is required`);
      else if (body !== undefined) problems.push(...this.check(`req ${method} ${template}`, bodyParam.schema, body).map((e) => `body${e}`));
    } else if (body !== undefined) problems.push(`${method} ${template} takes no body`);
    return problems;
  }

  /** Problems of an answer (status declared for the operation, body matching its schema), [] when valid. */
  validateResponse(method: string, path: string, status: number, body: unknown): string[] {
    const template = this.route(path);
    const op = template === undefined ? undefined : this.operation(template, method);
    if (template === undefined || op === undefined) return [`${method} ${path}: answered an operation Weaviate does not have`];
    const declared = op.responses[String(status)] ?? op.responses.default;
    if (declared === undefined) return [`${method} ${template}: status ${status} is not declared (declared: ${Object.keys(op.responses).join(", ")})`];
    if (declared.schema === undefined) return body === undefined ? [] : [`${method} ${template} ${status}: declared without a body`];
    return this.check(`res ${method} ${template} ${status}`, declared.schema, body).map((e) => `response${e}`);
  }
}
