import type { AlertFeed, AlertTransitionRecord } from "../ports/alert-read-model.js";

/**
 * An in-memory AlertFeed for unit tests: `publish` hands a transition to the listeners of its
 * device and of the fleet, synchronously (as the NATS feed's callback does).
 */
export class MemoryAlertFeed implements AlertFeed {
  private readonly listeners = new Set<{ deviceId: string | undefined; listener: (t: AlertTransitionRecord) => void }>();

  /** Listeners subscribed now. */
  get subscribers(): number {
    return this.listeners.size;
  }

  subscribe(deviceId: string | undefined, listener: (t: AlertTransitionRecord) => void): () => void {
    const entry = { deviceId, listener };
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  publish(t: AlertTransitionRecord): void {
    for (const l of [...this.listeners]) if (l.deviceId === undefined || l.deviceId === t.deviceId) l.listener(t);
  }
}
