import type { BrokerAccounts } from "../ports/device-registry.js";

/** One call a {@link RecordingBroker} got. */
export type BrokerCall = readonly ["putDevice", string, string, boolean, number | undefined] | readonly ["setEnabled", string, boolean] | readonly ["removeDevice", string];

/**
 * TEST DOUBLE: BrokerAccounts that records every call and keeps the accounts in a map; `fail`
 * (when set) is thrown by the next writes instead, as a broker that does not answer.
 */
export class RecordingBroker implements BrokerAccounts {
  readonly calls: BrokerCall[] = [];
  readonly accounts = new Map<string, { password: string; enabled: boolean }>();
  fail: Error | undefined;

  /** Records the optional credentialsRotatedAtMs too (undefined when not given), as the dynamic-security adapter takes it. */
  async putDevice(id: string, password: string, enabled: boolean, credentialsRotatedAtMs?: number): Promise<void> {
    this.calls.push(["putDevice", id, password, enabled, credentialsRotatedAtMs]);
    if (this.fail) throw this.fail;
    this.accounts.set(id, { password, enabled });
  }
  async setEnabled(id: string, enabled: boolean): Promise<void> {
    this.calls.push(["setEnabled", id, enabled]);
    if (this.fail) throw this.fail;
    const a = this.accounts.get(id);
    if (a) this.accounts.set(id, { ...a, enabled });
  }
  async removeDevice(id: string): Promise<void> {
    this.calls.push(["removeDevice", id]);
    if (this.fail) throw this.fail;
    this.accounts.delete(id);
  }
  async listDevices(): Promise<string[]> {
    return [...this.accounts.keys()].sort();
  }
  async close(): Promise<void> {}
}
