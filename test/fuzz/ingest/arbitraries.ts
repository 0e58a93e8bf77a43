/**
 * fast-check arbitraries of what a device (or an attacker posing as one) may publish: near-valid
 * JSON and protobuf payloads (valid ones, then mutated: wrong types, huge numbers, numeric and
 * NaN strings, deep nesting, long and odd Unicode strings, duplicate keys, truncation, bad UTF-8),
 * topics (valid, other devices', wildcards, Unicode, over-long, wrong shape) and command replies.
 */
export { arbJsonInput, arbValidInput } from "./arb-json.js";
export { arbProtoInput } from "./arb-proto.js";
export { arbReplyInput } from "./arb-reply.js";
export { arbAclInput, arbTopic, arbTopicInput, topicDeviceGuess } from "./arb-topics.js";
