/**
 * The model gateway port: how device actors, the runtime and the reports role ask for AI, and how
 * the gateway talks to a model provider. Plain TypeScript types; the gRPC contract
 * (proto/shoal/v1/gateway.proto) is mapped to these at the edge (src/gateway/convert.ts).
 */

/** A window of one metric of one device, oldest value first. */
export interface MetricWindow {
  readonly deviceId: string;
  readonly metric: string;
  readonly values: readonly number[];
  /** Timestamps of `values`, ms since the Unix epoch (optional). */
  readonly tsMs?: readonly number[];
}

/** Why an answer came from a fallback instead of the configured primary model. */
export type DegradedReason =
  | "gated"
  | "budget"
  | "circuit_open"
  | "rate_limited"
  | "upstream"
  | "deadline"
  | "overload"
  | "invalid_output";

/** Which provider, model and prompt version produced an answer, and what it cost. */
export interface ModelInfo {
  readonly provider: string;
  readonly model: string;
  /** `<prompt>@<version>`, e.g. `explain@v2`; empty for operations without a prompt. */
  readonly promptVersion: string;
  /** Served from the cache (no upstream call for this request). */
  readonly cached: boolean;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** Cost of the upstream call in USD (0 for local and cached answers). */
  readonly costUsd: number;
  /** Answered by a fallback (ultimately `local`) instead of the primary. */
  readonly degraded: boolean;
  readonly degradedReason?: DegradedReason | undefined;
  /** Upstream attempts made (0 for cache hits and local answers). */
  readonly attempts: number;
  /** Normalised pattern signature (cache key), hex. */
  readonly signature: string;
}

export interface ScoreRequest {
  readonly window: MetricWindow;
}
export interface ScoreResult {
  /** Anomaly score in [0, 1] of the window's last value. */
  readonly score: number;
  readonly model: ModelInfo;
}

export interface ExplainRequest {
  readonly window: MetricWindow;
  /** Score in [0, 1] from the local detector that triggered the explanation. */
  readonly score: number;
  /** Free-form context (recent log lines, thresholds). */
  readonly context?: Readonly<Record<string, string>>;
}
export interface Explanation {
  readonly summary: string;
  readonly likelyCause: string;
  readonly suggestedAction: string;
}
export interface ExplainResult extends Explanation {
  readonly model: ModelInfo;
}

/** Text or a numeric window to embed; `subjectId` keys the A/B split for text (windows use their device). */
export type EmbedRequest =
  | { readonly text: string; readonly window?: undefined; readonly subjectId?: string }
  | { readonly window: MetricWindow; readonly text?: undefined; readonly subjectId?: string };
export interface EmbedResult {
  readonly vector: readonly number[];
  readonly model: ModelInfo;
}

export interface SummarizeRequest {
  readonly title: string;
  readonly items: readonly string[];
  /** Key of the A/B split (e.g. a report id); defaults to the title. */
  readonly subjectId?: string;
}
export interface SummarizeResult {
  readonly summary: string;
  readonly model: ModelInfo;
}

/** Per-call options. */
export interface CallOptions {
  /** Absolute deadline, ms since the epoch on the gateway's clock; the call fails with `deadline_exceeded` after it. */
  readonly deadlineMs?: number;
  readonly signal?: AbortSignal;
  /** W3C `traceparent` of the caller's span: the gateway's spans continue it (gRPC metadata over the wire). */
  readonly traceparent?: string;
}

/** The gateway as callers see it (in-process service, or the gRPC client of a remote one). */
export interface ModelGateway {
  score(req: ScoreRequest, opts?: CallOptions): Promise<ScoreResult>;
  explain(req: ExplainRequest, opts?: CallOptions): Promise<ExplainResult>;
  embed(req: EmbedRequest, opts?: CallOptions): Promise<EmbedResult>;
  summarize(req: SummarizeRequest, opts?: CallOptions): Promise<SummarizeResult>;
}

/** Gateway operation names (also the names of the prompts in config). */
export type GatewayOp = "score" | "explain" | "embed" | "summarize";

// ---------------------------------------------------------------------------------------------
// Provider side: what the gateway needs from one model provider (local, OpenAI-compatible, ...).

/** Token usage reported by a provider for one call. */
export interface Usage {
  readonly inputTokens: number;
  readonly outputTokens: number;
}

/** A rendered prompt and the model parameters for one provider call. */
export interface ProviderCall {
  /** Provider-side model name (for Azure: the deployment). */
  readonly model: string;
  readonly system: string;
  readonly user: string;
  readonly temperature?: number;
  readonly maxTokens?: number;
  /** Ask for a JSON object matching this JSON schema (structured output) when the provider supports it. */
  readonly jsonSchema?: { readonly name: string; readonly schema: Record<string, unknown> };
  readonly signal: AbortSignal;
  /** W3C `traceparent` of the gateway's upstream span: sent as an HTTP header (a self-hosted model server may continue the trace). */
  readonly traceparent?: string;
}

/** Result of a chat-style provider call: raw text (JSON when `jsonSchema` was given). */
export interface ProviderText {
  readonly text: string;
  readonly usage: Usage;
}

/** Result of an embeddings call: one vector per input, in order. */
export interface ProviderVectors {
  readonly vectors: number[][];
  readonly usage: Usage;
}

/**
 * One model provider. Implementations map their vendor errors to gateway errors
 * (src/gateway/errors.ts: `code` + `retryable` + `retryAfterMs`) at the boundary.
 */
export interface ModelProvider {
  /** Provider id used in config, metrics and ModelInfo, e.g. `openai`, `azure`, `ollama`. */
  readonly id: string;
  complete(call: ProviderCall): Promise<ProviderText>;
  embed(call: { readonly model: string; readonly inputs: readonly string[]; readonly signal: AbortSignal }): Promise<ProviderVectors>;
  close?(): Promise<void>;
}
