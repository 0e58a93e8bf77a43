import type { DeviceAdmission, DeviceChange, DeviceRegistry } from "../ports/device-registry.js";

/**
 * The registry as the bridge sees it in `registry.mode: strict` (docs/adr/0019-device-identity.md):
 * the ids of every registered device and of the disabled ones, kept in memory from a registry
 * watch so that the check made for every incoming message is a synchronous O(1) set lookup.
 *
 * A change in the registry (a device disabled, created, deleted) applies here as soon as the watch
 * delivers it — well under a second on a healthy NATS. While NATS is unreachable the last view
 * stays in force and the watch catches up after the reconnect.
 */
export class RegistryAdmission {
  private readonly known = new Set<string>();
  private readonly disabled = new Set<string>();
  private watch: { readonly ready: Promise<void>; stop(): Promise<void> } | undefined;

  constructor(private readonly registry: DeviceRegistry) {}

  /**
   * Start following the registry; resolves once every device registered now is loaded. Until then
   * every id is "unknown": a strict bridge starts consuming only after this resolved.
   */
  async start(): Promise<void> {
    if (this.watch !== undefined) return this.watch.ready;
    this.watch = await this.registry.watch((c) => this.apply(c));
    await this.watch.ready;
  }

  /** How the registry sees device `id` now. */
  check(id: string): DeviceAdmission {
    if (this.disabled.has(id)) return "disabled";
    return this.known.has(id) ? "known" : "unknown";
  }

  /** Registered devices (enabled or not). */
  get size(): number {
    return this.known.size;
  }

  /** Stop following the registry (the view stays as it was). */
  async stop(): Promise<void> {
    const w = this.watch;
    this.watch = undefined;
    await w?.stop();
  }

  private apply(c: DeviceChange): void {
    if (c.record === undefined) {
      this.known.delete(c.id);
      this.disabled.delete(c.id);
      return;
    }
    this.known.add(c.id);
    if (c.record.enabled) this.disabled.delete(c.id);
    else this.disabled.add(c.id);
  }
}
