import { describe, expect, it, vi } from "vitest";
import { resolveConfig } from "../config/index.js";
import { followJournalPartitions, PARTITIONS_ENV } from "./journal-partitions.js";

const quiet = () => ({ info: vi.fn(), warn: vi.fn() });

describe("followJournalPartitions", () => {
  it("gives a count the deployment did not set the journal's own, through the environment", async () => {
    const env = { SHOAL__NATS__URL: "nats://127.0.0.1:1" };
    const resolved = resolveConfig({ env });
    expect(resolved.sources.get("nats.partitions")).toBe("default.yaml");
    const log = quiet();
    const read = vi.fn(async () => 64);
    const next = await followJournalPartitions(env, resolved, log, read);
    expect(next).toEqual({ ...env, [PARTITIONS_ENV]: "64" });
    expect(env).not.toHaveProperty(PARTITIONS_ENV);
    expect(resolveConfig({ env: next }).config.nats.partitions).toBe(64);
    expect(log.info).toHaveBeenCalledTimes(1);
    expect(log.info.mock.calls[0]![1]).toContain("using the journal's 64 partitions");
  });

  it("never overrides a count the deployment set, and does not even look", async () => {
    const env = { [PARTITIONS_ENV]: "16" };
    const read = vi.fn(async () => 64);
    expect(await followJournalPartitions(env, resolveConfig({ env }), quiet(), read)).toBe(env);
    expect(read).not.toHaveBeenCalled();
    // Consul's document (like an environment file: prod.yaml has 64) is the deployment's choice too.
    const resolved = resolveConfig({ env: {}, consulLayer: { nats: { partitions: 16 } } });
    expect(resolved.sources.get("nats.partitions")).toMatch(/^consul:/);
    expect(await followJournalPartitions({}, resolved, quiet(), read)).toEqual({});
    expect(read).not.toHaveBeenCalled();
  });

  it("leaves the environment as it is without a journal, with the same count, or when the journal cannot be read", async () => {
    const env = {};
    const resolved = resolveConfig({ env });
    expect(await followJournalPartitions(env, resolved, quiet(), async () => undefined)).toBe(env);
    expect(await followJournalPartitions(env, resolved, quiet(), async () => resolved.config.nats.partitions)).toBe(env);
    const log = quiet();
    const down = async (): Promise<number> => {
      throw new Error("CONNECTION_REFUSED");
    };
    expect(await followJournalPartitions(env, resolved, log, down)).toBe(env);
    expect(log.warn).toHaveBeenCalledWith(expect.objectContaining({ err: "CONNECTION_REFUSED" }), expect.stringContaining("using nats.partitions 16"));
  });
});
