// shoal.v1.AlertService: alerts' state and history, acknowledge/resolve through the journal, silences, live transitions.
export { createAlertService, pageToken } from "./alert-service.js";
export type { AlertServiceDeps } from "./alert-service.js";
export { AlertWatchHub } from "./alert-watch.js";
export type { AlertWatchOptions } from "./alert-watch.js";
export { addAlertService, ALERT_SERVICE_NAME, ALERT_SERVICE_FILES } from "./server.js";
export type { SilenceChangeHook, SilenceChangeInfo } from "./silences.js";
export { MIN_SILENCE_MS, MAX_SILENCE_MS } from "./validate.js";
