import type { CallResult, OutCall } from "./actor-host.js";

/** How a service answers an actor's call (`ctx.call`): exactly once, through `answer`. */
export type AnswerCall = (callId: number, result: CallResult) => void;

/**
 * A service actors call by name (the model gateway; see src/gateway): takes calls addressed to it,
 * bounded and never blocking. Returns false for a call that is not for it (nothing answered).
 */
export interface ActorCallService {
  submitOutCall(call: OutCall, answer: AnswerCall): boolean;
}

/** The per-actor cache service (`ACTOR_CACHE_SERVICE`): resolves with the reply of a get/set call. */
export interface ActorCacheCalls {
  handle(call: OutCall): Promise<unknown>;
}
