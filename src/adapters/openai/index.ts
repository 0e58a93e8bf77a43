export { createOpenAIProvider } from "./openai-provider.js";
export type { OpenAIProviderOptions } from "./openai-provider.js";
export { mapOpenAIError, retryAfterMs } from "./errors.js";
