/**
 * Alert logic hosted by the device actor (docs/adr/0016-alerts.md): rules, per-device state and
 * its snapshot codec, and the rows of the transitions. Pure: no I/O, no clock, no randomness.
 */
export { AlertEngine } from "./engine.js";
export type { OpenAlert } from "./engine.js";
export type { DeviceAlerts } from "./state.js";
export { ALERTS_CODEC_VERSION, decodeAlerts, encodeAlerts } from "./codec.js";
export { alertRow, transitionRow } from "./rows.js";
export { checkAlertRules, parseAlertRules } from "./rules.js";
