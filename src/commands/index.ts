// Commands to devices (docs/adr/0021-device-commands.md): ids, validation, status rules, replies, topics.
export { COMMAND_ID_RE, commandIdTime, newCommandId } from "./ids.js";
export { checkCommand, checkPayload, CommandInputError, COMMAND_NAME_RE, MAX_PAYLOAD_BYTES, MAX_TTL_MS, MIN_TTL_MS } from "./validate.js";
export type { CommandRequest } from "./validate.js";
export { applyEvent, isSettled, viewAt } from "./state.js";
export type { CommandEvent } from "./state.js";
export { MAX_REPLY_BYTES, MAX_REPLY_DEPTH, parseReply } from "./reply.js";
export type { ParsedReply } from "./reply.js";
export { commandTopic, deviceOfReplyTopic, REPLY_FILTER, replyTopic } from "./topics.js";
export { MemoryCommandStore } from "./memory-store.js";
export { isAfter, newestFirst, readPage } from "./listing.js";
