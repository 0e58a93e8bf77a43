import OpenAI from "openai";
import { errorMessage } from "../../base/errors.js";
import { AuthError, GatewayError, InvalidRequestError, RateLimitedError, UpstreamError, UpstreamTimeoutError } from "../../gateway/errors.js";

/**
 * Retry-After of a response in ms: `retry-after-ms` (OpenAI/Azure), else `retry-after` as seconds
 * or as an HTTP date. Undefined when absent or unparsable.
 */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  const ms = headers?.get("retry-after-ms");
  if (ms && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const ra = headers?.get("retry-after");
  if (!ra) return undefined;
  if (/^\d+(\.\d+)?$/.test(ra.trim())) return Math.max(0, Number(ra) * 1000);
  const at = Date.parse(ra);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/**
 * Map an error of the `openai` package to a gateway error. 429 → rate_limited (with Retry-After),
 * 5xx/408/409/connection → upstream (retryable), timeouts → timeout, 401/403 → auth, other 4xx →
 * invalid_request. Messages carry the status and the vendor message, never request headers or keys.
 */
export function mapOpenAIError(provider: string, e: unknown, signal?: AbortSignal): GatewayError {
  if (e instanceof GatewayError) return e;
  // Our own abort (per-attempt timeout, deadline): surface its reason.
  if (signal?.aborted && signal.reason instanceof GatewayError) return signal.reason;
  if (e instanceof OpenAI.APIConnectionTimeoutError) return new UpstreamTimeoutError(`${provider}: request timed out`, { cause: e });
  if (e instanceof OpenAI.APIUserAbortError) return new UpstreamTimeoutError(`${provider}: request aborted`, { cause: e });
  if (e instanceof OpenAI.APIConnectionError) return new UpstreamError(`${provider}: connection error: ${e.message}`, { cause: e });
  if (e instanceof OpenAI.APIError) {
    const status = e.status ?? 0;
    const msg = `${provider}: HTTP ${status}: ${e.message}`;
    const opts = { cause: e, status, retryAfterMs: retryAfterMs(e.headers) };
    if (status === 429) return new RateLimitedError(msg, opts);
    if (status >= 500 || status === 408 || status === 409) return new UpstreamError(msg, opts);
    if (status === 401 || status === 403) return new AuthError(msg, { cause: e, status });
    return new InvalidRequestError(msg);
  }
  return new UpstreamError(`${provider}: ${errorMessage(e)}`, { cause: e });
}
