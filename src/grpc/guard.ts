import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { ShoalError } from "../base/errors.js";

/**
 * Errors of a unary handler as the caller should see them (every service of src/query and
 * src/alert-service): a ConnectError as is; what `special` maps (a service's own cases); a failure
 * after the call was aborted DEADLINE_EXCEEDED; a retryable store or journal failure UNAVAILABLE
 * (retry) with its first words; anything else INTERNAL without internals (given to `onInternal`).
 */
export function guard(onInternal: (method: string, err: unknown) => void, special: (err: unknown) => ConnectError | undefined = () => undefined) {
  return <Req, Res>(f: (req: Req, ctx: HandlerContext) => Promise<Res>): ((req: Req, ctx: HandlerContext) => Promise<Res>) =>
    async (req, ctx) => {
      try {
        return await f(req, ctx);
      } catch (e) {
        if (e instanceof ConnectError) throw e;
        const mapped = special(e);
        if (mapped !== undefined) throw mapped;
        if (ctx.signal.aborted) throw ConnectError.from(ctx.signal.reason, Code.DeadlineExceeded);
        if (e instanceof ShoalError && e.retryable) throw new ConnectError(`unavailable, retry: ${e.message.slice(0, 200)}`, Code.Unavailable);
        onInternal(ctx.method.name, e);
        throw new ConnectError("internal error (logged by the server)", Code.Internal);
      }
    };
}
