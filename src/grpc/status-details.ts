import * as grpc from "@grpc/grpc-js";
import { ConnectError, type Interceptor } from "@connectrpc/connect";

/**
 * Longest status message a Shoal gRPC server sends, in characters. The message travels as the
 * `grpc-message` header (percent-encoded, up to 12 bytes a character): a grpc-js client given one
 * of 100 KB neither finishes that call nor the others on its connection until their deadlines
 * (measured), and messages can quote what a caller sent (an id of 70,000 characters).
 */
export const MAX_STATUS_DETAILS = 2000;

/** `details` cut to {@link MAX_STATUS_DETAILS} characters, saying how much was left out. */
export function boundDetails(details: string): string {
  if (details.length <= MAX_STATUS_DETAILS) return details;
  const cut = details.slice(0, MAX_STATUS_DETAILS);
  return `${cut}… (${details.length - MAX_STATUS_DETAILS} more characters left out)`;
}

/** Server interceptor of every grpc-js server of Shoal: every status message within {@link MAX_STATUS_DETAILS}. */
export function boundStatusDetails(): grpc.ServerInterceptor {
  return (_descriptor, call) =>
    new grpc.ServerInterceptingCall(call, {
      sendStatus: (status, next) => next(status.details !== undefined && status.details.length > MAX_STATUS_DETAILS ? { ...status, details: boundDetails(status.details) } : status),
    });
}

/** A ConnectError with its message bounded ({@link boundDetails}); anything else as ConnectError.from makes it. */
function bounded(e: unknown): unknown {
  const ce = ConnectError.from(e);
  return ce.rawMessage.length > MAX_STATUS_DETAILS ? new ConnectError(boundDetails(ce.rawMessage), ce.code, ce.metadata, ce.details as never, ce.cause) : e;
}

/**
 * The same bound for the Connect / gRPC-web port (outermost interceptor of src/grpc/web-server.ts):
 * there an error before any message travels in the HTTP response's headers (gRPC-web's
 * trailers-only answer), and Node's HTTP client refuses headers over 16 KiB.
 */
export function boundErrorMessages(): Interceptor {
  return (next) => async (req) => {
    let res;
    try {
      res = await next(req);
    } catch (e) {
      throw bounded(e);
    }
    if (!res.stream) return res;
    const inner = res.message;
    return {
      ...res,
      message: (async function* () {
        try {
          yield* inner;
        } catch (e) {
          throw bounded(e);
        }
      })(),
    };
  };
}
