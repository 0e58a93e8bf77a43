import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.js";

function capture(): { dest: Writable; lines: string[] } {
  const lines: string[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      cb();
    },
  });
  return { dest, lines };
}

describe("createLogger", () => {
  it("a role's child logger writes \"role\" once, and the process name", async () => {
    const { dest, lines } = capture();
    const log = createLogger({ level: "info", name: "up", destination: dest });
    log.child({ role: "runtime" }).info({ partition: 3 }, "hello");
    await new Promise((r) => setImmediate(r));
    expect(lines).toHaveLength(1);
    expect(lines[0]!.match(/"role":/g)).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ name: "up", role: "runtime", partition: 3, msg: "hello" });
  });

  it("never writes a secret value", async () => {
    const { dest, lines } = capture();
    const log = createLogger({ level: "info", name: "runtime", destination: dest });
    log.info({ clickhouse: { password: "hunter2" }, token: "t0k3n" }, "connecting");
    await new Promise((r) => setImmediate(r));
    expect(lines[0]).not.toContain("hunter2");
    expect(lines[0]).not.toContain("t0k3n");
  });

  it("never writes the password of a URL, wherever the URL is in the record", async () => {
    const { dest, lines } = capture();
    const log = createLogger({ level: "info", name: "bridge", destination: dest });
    log.info({ nats: "nats://shoal:s3cr3t@nats-0:4222,nats://shoal:s3cr3t@nats-1:4222", deep: { list: ["redis://default:pw0rd@redis:6379/0"] }, plain: "user@example.com", mqtt: "mqtts://dev@host:8883" }, "bridge started");
    await new Promise((r) => setImmediate(r));
    expect(lines[0]).not.toContain("s3cr3t");
    expect(lines[0]).not.toContain("pw0rd");
    const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(rec.nats).toBe("nats://shoal:[redacted]@nats-0:4222,nats://shoal:[redacted]@nats-1:4222");
    expect(rec.deep).toEqual({ list: ["redis://default:[redacted]@redis:6379/0"] });
    expect(rec.plain).toBe("user@example.com");
    expect(rec.mqtt).toBe("mqtts://dev@host:8883"); // a user name alone is no secret
  });
});
