import { DEVICE_ID_RE } from "../domain/reading-codec.js";

/** The MQTT topics of the downlink (docs/adr/0021-device-commands.md). */

/** Where a device receives its commands: `devices/<id>/commands`. */
export function commandTopic(deviceId: string): string {
  return `devices/${deviceId}/commands`;
}

/** Where a device answers them (the MQTT 5 response topic Shoal sets): `devices/<id>/commands/reply`. */
export function replyTopic(deviceId: string): string {
  return `devices/${deviceId}/commands/reply`;
}

/** The topic filter of every device's replies (shared between bridges as `$share/<group>/…`). */
export const REPLY_FILTER = "devices/+/commands/reply";

/** The device a reply topic belongs to, or undefined for any other topic. */
export function deviceOfReplyTopic(topic: string): string | undefined {
  const m = /^devices\/([^/]+)\/commands\/reply$/.exec(topic);
  return m !== null && DEVICE_ID_RE.test(m[1]!) ? m[1] : undefined;
}
