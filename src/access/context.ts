import { createContextKey } from "@connectrpc/connect";
import type { Caller } from "./tokens.js";

/** The authenticated caller of a Connect handler (`ctx.values.get(CALLER)`), set by the access check. */
export const CALLER = createContextKey<Caller | undefined>(undefined, { description: "shoal caller" });
