/**
 * The notifier side of alerts (docs/adr/0016-alerts.md): the row log -> SHOAL_ALERTS relay, storm
 * control, silences and signed, retried, idempotent webhooks. The ports it works on are in
 * ./ports.ts; src/cli wires the NATS adapters (src/adapters/nats/alert-stream.ts, notified-kv.ts,
 * silences-kv.ts) to them.
 */
export type { AlertFeed, AlertPublisher, LiveSilences, NotifiedMarks, NotifierStateStore, Running } from "./ports.js";
export { ALERT_RELAY_TABLES, RELAY_STAGE, startAlertRelay } from "./relay.js";
export type { AlertRelay, AlertRelayDeps, AlertRelayStats } from "./relay.js";
export { NOTIFIER_STAGE, startNotifier } from "./notifier.js";
export type { Notifier, NotifierDeps, NotifierOptions, NotifierStats } from "./notifier.js";
export { StormGate } from "./storm.js";
export type { StormDecision, StormSummary } from "./storm.js";
export { WebhookSender } from "./webhook.js";
export type { Notification, SendResult, TargetStats, WebhookTarget } from "./webhook.js";
export { IDEMPOTENCY_HEADER, signWebhook, SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhook } from "./signature.js";
export type { VerifyOptions } from "./signature.js";
export { transitionFromRow } from "./transition-row.js";
