import { ShoalError } from "../base/errors.js";
import type { DeviceChange, DeviceRecord, DeviceRecordInput, DeviceRegistry } from "../ports/device-registry.js";

/**
 * TEST DOUBLE: an in-memory {@link DeviceRegistry} for unit tests of code built on the registry
 * (the DeviceService, broker sync, admission). Not for production: nothing is replicated or
 * survives the process. It keeps the semantics of the NATS KV registry
 * (src/adapters/nats/device-registry-kv.ts): one revision counter for the whole store (a change
 * to any device raises it, as a KV bucket's stream sequence does), "already_exists",
 * "not_found" and "conflict" ShoalErrors, compare-and-set updates, and a watch that replays the
 * current records in id order before `ready` and then every change in order.
 *
 * `update`'s `change` may run again when `interleave` (tests only) changed the record meanwhile,
 * as it may against KV under contention.
 */
export class MemoryDeviceRegistry implements DeviceRegistry {
  private readonly records = new Map<string, DeviceRecord>();
  private readonly watchers = new Set<(c: DeviceChange) => void>();
  private revision = 0;
  /**
   * Called (tests only) between reading a record and writing its update: a test can change the
   * record there to exercise the compare-and-set retry. Runs at most once per update.
   */
  interleave: ((id: string) => void) | undefined;

  async get(id: string): Promise<DeviceRecord | undefined> {
    return this.records.get(id);
  }

  async create(input: DeviceRecordInput): Promise<DeviceRecord> {
    if (this.records.has(input.id)) throw alreadyExists(input.id);
    return this.put(input);
  }

  async update(id: string, change: (current: DeviceRecord) => DeviceRecordInput, expectedRevision?: number): Promise<DeviceRecord> {
    for (let attempt = 0; ; attempt++) {
      const current = this.records.get(id);
      if (current === undefined) throw notFound(id);
      if (expectedRevision !== undefined && current.revision !== expectedRevision) throw conflict(id, expectedRevision, current.revision);
      const next = change(current);
      if (next.id !== id) throw new ShoalError(`device ${id}: an update may not change the id (to ${next.id})`, { code: "invalid_input" });
      const hook = this.interleave;
      this.interleave = undefined;
      hook?.(id);
      if (this.records.get(id)?.revision === current.revision) return this.put(next);
      if (expectedRevision !== undefined) throw conflict(id, expectedRevision, this.records.get(id)?.revision);
      if (attempt >= 5) throw new ShoalError(`device ${id} changed concurrently on every try`, { code: "conflict" });
    }
  }

  async delete(id: string): Promise<boolean> {
    if (!this.records.delete(id)) return false;
    this.revision++;
    this.emit({ id, record: undefined });
    return true;
  }

  async list(): Promise<DeviceRecord[]> {
    return [...this.records.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async watch(onChange: (change: DeviceChange) => void): Promise<{ readonly ready: Promise<void>; stop(): Promise<void> }> {
    for (const record of await this.list()) onChange({ id: record.id, record });
    this.watchers.add(onChange);
    return {
      ready: Promise.resolve(),
      stop: async () => {
        this.watchers.delete(onChange);
      },
    };
  }

  private put(input: DeviceRecordInput): DeviceRecord {
    const record: DeviceRecord = Object.freeze({ ...input, labels: Object.freeze({ ...input.labels }), revision: ++this.revision });
    this.records.set(record.id, record);
    this.emit({ id: record.id, record });
    return record;
  }

  private emit(change: DeviceChange): void {
    for (const w of [...this.watchers]) w(change);
  }
}

function notFound(id: string): ShoalError {
  return new ShoalError(`device ${id} is not registered`, { code: "not_found" });
}

function alreadyExists(id: string): ShoalError {
  return new ShoalError(`device ${id} is already registered`, { code: "already_exists" });
}

function conflict(id: string, expected: number, actual: number | undefined): ShoalError {
  return new ShoalError(`device ${id} is at revision ${actual ?? "(deleted)"}, not ${expected}`, { code: "conflict" });
}
