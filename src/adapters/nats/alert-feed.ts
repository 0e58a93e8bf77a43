import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { AlertFeed, AlertTransitionRecord } from "../../ports/alert-read-model.js";
import { alertSubject } from "../../domain/subjects.js";

/**
 * An AlertFeed on the alert transitions' subjects (`shoal.alerts.<deviceId>`, JSON AlertTransition
 * as the relay publishes them to the SHOAL_ALERTS stream). Core NATS subscriptions: they see each
 * message as the stream stores it, cost nothing while nobody listens, and are at most once. One
 * subscription per listener (`shoal.alerts.<deviceId>` or `shoal.alerts.*`). Messages that are not
 * a transition are counted (`malformed`), reported to `onError` and left out.
 */
export function createNatsAlertFeed(nc: NatsConnection, onError: (reason: string) => void = () => {}): AlertFeed & { readonly malformed: number } {
  const dec = new TextDecoder();
  const self = {
    malformed: 0,
    subscribe(deviceId: string | undefined, listener: (t: AlertTransitionRecord) => void) {
      const sub: Subscription = nc.subscribe(alertSubject(deviceId ?? "*"), {
        callback: (err, m) => {
          if (err) return;
          let t: AlertTransitionRecord | undefined;
          try {
            t = transitionOf(JSON.parse(dec.decode(m.data)));
          } catch {
            t = undefined;
          }
          const wrong = t === undefined ? "not a JSON alert transition" : deviceId !== undefined && t.deviceId !== deviceId ? `of device ${t.deviceId.slice(0, 128)}` : undefined;
          if (t === undefined || wrong !== undefined) {
            self.malformed++;
            onError(`message on ${m.subject} left out: ${wrong}`);
            return;
          }
          listener(t);
        },
      });
      return () => sub.unsubscribe();
    },
  };
  return self;
}

const STRINGS = ["alertId", "deviceId", "rule", "metric", "kind", "state", "severity", "summary", "by", "reason"] as const;
const INTEGERS = ["version", "atMs", "startedAtMs"] as const;

/** The transition in a decoded JSON message, undefined when it is not one (a field missing or of the wrong type). */
export function transitionOf(o: unknown): AlertTransitionRecord | undefined {
  if (typeof o !== "object" || o === null) return undefined;
  const r = o as Record<string, unknown>;
  for (const k of STRINGS) if (typeof r[k] !== "string") return undefined;
  for (const k of INTEGERS) if (!Number.isSafeInteger(r[k])) return undefined;
  if (typeof r["value"] !== "number" || !Number.isFinite(r["value"])) return undefined;
  if (typeof r["flapping"] !== "boolean" || r["alertId"] === "" || r["deviceId"] === "") return undefined;
  return {
    alertId: r["alertId"] as string,
    version: r["version"] as number,
    deviceId: r["deviceId"] as string,
    rule: r["rule"] as string,
    metric: r["metric"] as string,
    kind: r["kind"] as string,
    state: r["state"] as string,
    severity: r["severity"] as string,
    atMs: r["atMs"] as number,
    startedAtMs: r["startedAtMs"] as number,
    value: r["value"] as number,
    summary: r["summary"] as string,
    by: r["by"] as string,
    reason: r["reason"] as string,
    flapping: r["flapping"],
  };
}
