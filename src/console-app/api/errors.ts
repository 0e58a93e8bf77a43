import { Code, ConnectError } from "@connectrpc/connect";

/** An RPC failure as the console shows it: the status name and the server's message. */
export interface CallError {
  readonly code: Code;
  /** "Unauthenticated", "PermissionDenied", ... */
  readonly codeName: string;
  /** The server's message without the "[code]" prefix. */
  readonly message: string;
  /** Worth retrying as is (the server or the network, not the request). */
  readonly retryable: boolean;
}

const RETRYABLE = new Set<Code>([Code.Unavailable, Code.DeadlineExceeded, Code.ResourceExhausted, Code.Aborted, Code.Internal, Code.Unknown]);

/** Any thrown value as a CallError (fetch failures become Unavailable). */
export function toCallError(e: unknown): CallError {
  const ce = ConnectError.from(e);
  let message = ce.rawMessage;
  // fetch() rejects with a bare TypeError when the server is down or the network is gone.
  if (ce.code === Code.Unknown && /failed to fetch|networkerror|load failed/i.test(message)) {
    return { code: Code.Unavailable, codeName: "Unavailable", message: "the server cannot be reached", retryable: true };
  }
  if (message === "") message = Code[ce.code] ?? "error";
  return { code: ce.code, codeName: Code[ce.code] ?? String(ce.code), message, retryable: RETRYABLE.has(ce.code) };
}

export function isUnauthenticated(e: unknown): boolean {
  return ConnectError.from(e).code === Code.Unauthenticated;
}

/** True for the error of a call this app cancelled itself (leaving a page, a newer request). */
export function isCancel(e: unknown, signal?: AbortSignal): boolean {
  if (signal?.aborted) return true;
  return ConnectError.from(e).code === Code.Canceled;
}
