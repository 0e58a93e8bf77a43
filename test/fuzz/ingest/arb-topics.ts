import fc from "fast-check";
import { type IngestInput } from "./contract.js";
import { arbDeviceId, finite, tsInWindow } from "./values.js";

/**
 * Topics of every shape, with an otherwise valid reading so the topic decides (the bridge's topic
 * check), and a device with topics near its own (its broker ACL, ./acl.ts).
 */

const enc = new TextEncoder();

/** Topics of every shape: the device's own, others', wildcards, odd and over-long ids, wrong levels. */
export const arbTopic: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: arbDeviceId.map((id) => `devices/${id}/readings`) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "devices/+/readings", "devices/#", "devices/d/+", "devices/d/#", "#", "+", "+/+/+", "devices//readings", "devices/readings", "devices/d/readings/", "/devices/d/readings",
      "devices/d/x/readings", "Devices/d/readings", "devices/d/Readings", "devices/d/commands", "devices/d/commands/reply", "devices/d/readings/extra", "$SYS/broker/load",
      "$share/g/devices/d/readings", "devices/d\u0000/readings", "devices/d /readings", "devices/../readings", "devices/./readings", "devices/a%2Fb/readings", "devices/a.b/readings",
      "devices/a:b/readings", "devices/a*b/readings", "", "/", "//", "devices", "devices/", "readings", "devices/d/readings\u0000", " devices/d/readings", "devices/d/readings ",
      `devices/${"a".repeat(128)}/readings`, `devices/${"a".repeat(129)}/readings`, `devices/${"a".repeat(65_536)}/readings`,
    ),
  },
  { weight: 2, arbitrary: fc.oneof(fc.string({ unit: "grapheme", minLength: 1, maxLength: 20 }), fc.string({ unit: "binary", minLength: 1, maxLength: 20 })).map((id) => `devices/${id}/readings`) },
  { weight: 1, arbitrary: fc.array(fc.oneof(fc.constantFrom("devices", "readings", "+", "#", "", "d", "commands", "reply"), fc.string({ maxLength: 6 })), { minLength: 1, maxLength: 6 }).map((ls) => ls.join("/")) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
);

/** The device a topic names when it has the shape `devices/<x>/readings` (x may be invalid), else "d". */
export function topicDeviceGuess(topic: string): string {
  const parts = topic.split("/");
  return parts.length === 3 && parts[0] === "devices" && parts[2] === "readings" ? parts[1]! : "d";
}

/** A topic with an otherwise valid JSON reading of the device the topic names (so the topic decides). */
export const arbTopicInput: fc.Arbitrary<IngestInput> = fc.tuple(arbTopic, tsInWindow, finite, fc.boolean()).map(([topic, tsMs, v, asOther]): IngestInput => {
  const deviceId = asOther ? "pump-17" : topicDeviceGuess(topic);
  return { topic, payload: enc.encode(JSON.stringify({ deviceId, seq: 1, tsMs, metrics: { t: v } })), profile: 0 };
});

/** A device and topics near its own: prefixes of other ids, extra levels, its command topics, others' topics. */
export const arbAclInput: fc.Arbitrary<IngestInput> = fc
  .tuple(arbDeviceId, fc.oneof(arbTopic, fc.constant("")), fc.constantFrom("/readings", "-x/readings", "x/readings", "/x/readings", "/readings/", "//readings", "/commands", "/commands/reply", "/x/commands/reply", "/+/readings", "/#", "", "/"), arbDeviceId, fc.nat(3), tsInWindow)
  .map(([id, other, suffix, id2, form, tsMs]): IngestInput => {
    const topic = form === 0 ? `devices/${id}${suffix}` : form === 1 ? `devices/${id2}${suffix}` : form === 2 ? `devices/${id}/${id2}/readings` : other;
    return { topic, payload: enc.encode(JSON.stringify({ deviceId: topicDeviceGuess(topic), tsMs, metrics: { t: 1 } })), profile: 0, aclDevice: id };
  });
