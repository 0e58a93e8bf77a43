import { deviceIdFromTopic } from "../../../src/domain/reading-codec.js";
import { deviceOfReplyTopic } from "../../../src/commands/topics.js";
import { DEVICE_ID, deviceAcls, type Acl } from "../../../src/adapters/mqtt/dynsec-roles.js";

/**
 * The broker side of a device's topic: what Mosquitto's dynamic-security plugin lets device `id`
 * do with the ACLs Shoal gives it (src/adapters/mqtt/dynsec-roles.ts), matched as MQTT matches
 * topic filters, and what the bridge then makes of the topic. The property: whatever topic a
 * device may publish on, the bridge attributes its readings (and command replies) to that device
 * or to none — never to another device.
 */

/** MQTT topic-filter matching (MQTT 5 §4.7): `+` one level, `#` the rest (and the parent), `$` topics not by a leading wildcard. */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith("$") && (filter.startsWith("+") || filter.startsWith("#"))) return false;
  const f = filter.split("/");
  const t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    const level = f[i]!;
    if (level === "#") return i === f.length - 1 && t.length >= i;
    if (i >= t.length) return false;
    if (level !== "+" && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/** Whether `acls` allow a PUBLISH on `topic` (no allowing entry: the plugin's default denies). */
export function mayPublish(acls: readonly Acl[], topic: string): boolean {
  // A PUBLISH topic name holds no wildcard (the broker refuses it before any ACL check).
  if (topic.includes("+") || topic.includes("#") || topic.includes("\u0000") || topic === "") return false;
  const entries = acls.filter((a) => a.acltype === "publishClientSend" && topicMatches(a.topic, topic)).sort((a, b) => (b.priority ?? 0) - (a.priority ?? 0));
  return entries[0]?.allow === true;
}

/** Whether device `id` may publish on `topic`, and every broken property (empty: all hold). */
export function checkAcl(id: string, topic: string): { allowed: boolean; violations: string[] } {
  const out: string[] = [];
  if (!DEVICE_ID.test(id)) return { allowed: false, violations: out };
  const acls = deviceAcls(id);
  for (const a of acls) {
    if (!a.topic.startsWith(`devices/${id}/`)) out.push(`ACL ${a.acltype} ${a.topic} of ${id} is outside devices/${id}/`);
    const wild = a.topic.slice(`devices/${id}/`.length);
    if (/[+#]/.test(wild) && wild !== "#") out.push(`ACL ${a.acltype} ${a.topic} of ${id} has a wildcard other than a trailing #`);
  }
  if (!mayPublish(acls, `devices/${id}/readings`)) out.push(`device ${id} may not publish its own readings`);
  if (!mayPublish(acls, `devices/${id}/commands/reply`)) out.push(`device ${id} may not publish its command replies`);
  if (!mayPublish(acls, topic)) return { allowed: false, violations: out };
  const t = deviceIdFromTopic(topic);
  if (t.ok && t.deviceId !== id) out.push(`device ${id} may publish on ${JSON.stringify(topic)}, which the bridge reads as device ${t.deviceId}`);
  const reply = deviceOfReplyTopic(topic);
  if (reply !== undefined && reply !== id) out.push(`device ${id} may publish on ${JSON.stringify(topic)}, which the downlink reads as a reply of ${reply}`);
  return { allowed: true, violations: out };
}
