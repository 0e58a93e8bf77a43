import { errorMessage } from "../../base/errors.js";
import { VectorStoreError } from "../vectors/errors.js";

/**
 * Maps an error of `weaviate-ts-client` 2.2.0 to a {@link VectorStoreError}. The client rejects REST
 * calls with `Error("usage error (<status>): <body>")`, GraphQL calls with graphql-request's
 * ClientError (`response.status`, `response.errors`), and network failures with fetch's TypeError.
 * 5xx, 408, 429 and network errors are retryable (`unavailable`); 401/403 and other 4xx are not
 * (`invalid`, with the status); GraphQL errors in a 200 answer are the query's fault (`invalid`).
 * Messages keep Weaviate's text (never request headers, so never the API key).
 */
export function toWeaviateError(err: unknown, what: string): VectorStoreError {
  if (err instanceof VectorStoreError) return err;
  const msg = errorMessage(err).replace(/\s+/g, " ").slice(0, 400);
  const gql = (err as { response?: { status?: number; errors?: { message?: string }[] } } | null)?.response;
  const rest = /^usage error \((\d{3})\)/.exec(msg);
  const status = gql?.status ?? (rest ? Number(rest[1]) : undefined);
  if (status === undefined) {
    const network = err instanceof TypeError || /fetch failed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|socket hang up|network/i.test(msg);
    return new VectorStoreError(`weaviate: ${what}: ${msg}`, { reason: network ? "unavailable" : "invalid", cause: err });
  }
  const detail = gql?.errors?.length ? gql.errors.map((e) => e.message ?? "").join("; ").slice(0, 400) : msg;
  const retryable = status >= 500 || status === 408 || status === 429;
  return new VectorStoreError(`weaviate: ${what}: HTTP ${status}: ${detail}`, { reason: retryable ? "unavailable" : "invalid", status, cause: err });
}

/** Rejects with a retryable timeout when `p` takes longer than `ms` (the client has no deadline of its own). */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new VectorStoreError(`weaviate: ${what}: no answer in ${ms} ms`, { reason: "timeout" })), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
