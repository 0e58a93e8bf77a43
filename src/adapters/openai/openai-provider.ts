import OpenAI, { AzureOpenAI } from "openai";
import type { ModelProvider, ProviderCall, ProviderText, ProviderVectors } from "../../ports/gateway.js";
import { InvalidOutputError } from "../../gateway/errors.js";
import { mapOpenAIError } from "./errors.js";

/** Settings of one OpenAI-compatible provider (OpenAI, Azure OpenAI, vLLM, Ollama...). */
export interface OpenAIProviderOptions {
  /** Provider id (config key), used in errors and metrics. */
  readonly id: string;
  /** API base URL, e.g. https://api.openai.com/v1, http://localhost:8000/v1 (vLLM), http://localhost:11434/v1 (Ollama). */
  readonly baseUrl?: string | undefined;
  /** Secret; never logged. Servers without auth accept any value. */
  readonly apiKey?: string | undefined;
  /** Azure OpenAI: the api-version; `baseUrl` is then the resource endpoint. */
  readonly azureApiVersion?: string | undefined;
  /** How JSON is requested: json_schema (structured output), json_object (JSON mode) or none (prompt only). */
  readonly structuredOutput?: "json_schema" | "json_object" | "none";
  /** Custom fetch (tests). */
  readonly fetch?: typeof fetch;
}

/**
 * A ModelProvider over the `openai` package. The package's own retries are off (the gateway's
 * lane retries with its own policy) and its timeout is only a backstop: the lane aborts each
 * attempt through the signal.
 */
export function createOpenAIProvider(opts: OpenAIProviderOptions): ModelProvider {
  const common = { apiKey: opts.apiKey || "unused", maxRetries: 0, timeout: 10 * 60_000, ...(opts.fetch ? { fetch: opts.fetch } : {}) };
  const client = opts.azureApiVersion
    ? new AzureOpenAI({ ...common, endpoint: opts.baseUrl, apiVersion: opts.azureApiVersion })
    : new OpenAI({ ...common, baseURL: opts.baseUrl ?? "https://api.openai.com/v1" });
  const mode = opts.structuredOutput ?? "json_schema";

  const responseFormat = (call: ProviderCall) => {
    if (!call.jsonSchema || mode === "none") return undefined;
    if (mode === "json_object") return { type: "json_object" as const };
    return { type: "json_schema" as const, json_schema: { name: call.jsonSchema.name, schema: call.jsonSchema.schema, strict: true } };
  };

  return {
    id: opts.id,
    async complete(call: ProviderCall): Promise<ProviderText> {
      try {
        const rf = responseFormat(call);
        const res = await client.chat.completions.create(
          {
            model: call.model,
            messages: [
              ...(call.system ? [{ role: "system" as const, content: call.system }] : []),
              { role: "user" as const, content: call.user },
            ],
            ...(call.temperature !== undefined ? { temperature: call.temperature } : {}),
            ...(call.maxTokens !== undefined ? { max_tokens: call.maxTokens } : {}),
            ...(rf ? { response_format: rf } : {}),
          },
          { signal: call.signal, ...(call.traceparent !== undefined ? { headers: { traceparent: call.traceparent } } : {}) },
        );
        const text = res.choices[0]?.message?.content;
        if (typeof text !== "string") throw new InvalidOutputError(`${opts.id}: response has no message content`);
        return { text, usage: { inputTokens: res.usage?.prompt_tokens ?? 0, outputTokens: res.usage?.completion_tokens ?? 0 } };
      } catch (e) {
        throw mapOpenAIError(opts.id, e, call.signal);
      }
    },
    async embed(call): Promise<ProviderVectors> {
      try {
        // "float" explicitly: the SDK defaults to base64, which some compatible servers (older Ollama/vLLM) ignore.
        const res = await client.embeddings.create({ model: call.model, input: [...call.inputs], encoding_format: "float" }, { signal: call.signal });
        const vectors = new Array<number[]>(call.inputs.length);
        for (const d of res.data) vectors[d.index] = d.embedding;
        return { vectors, usage: { inputTokens: res.usage?.prompt_tokens ?? 0, outputTokens: 0 } };
      } catch (e) {
        throw mapOpenAIError(opts.id, e, call.signal);
      }
    },
  };
}
