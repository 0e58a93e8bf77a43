import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { mqttTlsOptions } from "./tls-options.js";

const dir = mkdtempSync(join(tmpdir(), "shoal-mqtt-tls-"));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const ca = file("ca.crt", "CA PEM");
const cert = file("client.crt", "CERT PEM");
const key = file("client.key", "KEY PEM");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("mqttTlsOptions", () => {
  it("is empty for plaintext URLs, whatever the config", () => {
    expect(mqttTlsOptions("mqtt://127.0.0.1:1883", { caFile: ca })).toEqual({});
    expect(mqttTlsOptions("tcp://h:1883", { caFile: "/missing" })).toEqual({});
    expect(mqttTlsOptions("mqtts://h:8883", undefined)).toEqual({});
  });

  it("reads the CA, client certificate and key for mqtts:// and ssl://, verifying by default", () => {
    const o = mqttTlsOptions("mqtts://h:8883", { caFile: ca, certFile: cert, keyFile: key, serverName: "broker.example" });
    expect(o).toEqual({ ca: Buffer.from("CA PEM"), cert: Buffer.from("CERT PEM"), key: Buffer.from("KEY PEM"), servername: "broker.example", rejectUnauthorized: true });
    expect(mqttTlsOptions("SSL://h:8883", { caFile: ca, rejectUnauthorized: false })).toEqual({ ca: Buffer.from("CA PEM"), rejectUnauthorized: false });
    expect(mqttTlsOptions("mqtts://h:8883", {})).toEqual({ rejectUnauthorized: true });
  });

  it("refuses a certificate without its key, and names an unreadable file (config_invalid)", () => {
    expect(() => mqttTlsOptions("mqtts://h", { certFile: cert })).toThrow(/certFile and mqtt.tls.keyFile go together/);
    expect(() => mqttTlsOptions("mqtts://h", { caFile: join(dir, "nope.crt") })).toThrow(expect.objectContaining({ code: "config_invalid", message: expect.stringContaining("mqtt.tls.caFile") }));
  });
});
