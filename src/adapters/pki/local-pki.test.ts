import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { generateLocalPki } from "./local-pki.js";

const root = mkdtempSync(join(tmpdir(), "shoal-pki-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("generateLocalPki (openssl CLI)", () => {
  const dir = join(root, "certs");
  const pki = generateLocalPki(dir, { days: 2 });

  it("makes a CA and a server certificate for 127.0.0.1/localhost signed by it; keys 0600, dir 0700", () => {
    const ca = new X509Certificate(readFileSync(pki.caFile));
    const server = new X509Certificate(readFileSync(pki.serverCertFile));
    const client = new X509Certificate(readFileSync(pki.clientCertFile));
    expect(ca.ca).toBe(true);
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(client.verify(ca.publicKey)).toBe(true);
    expect(server.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(server.checkHost("localhost")).toBe("localhost");
    expect(server.verify(new X509Certificate(readFileSync(pki.otherCaFile)).publicKey)).toBe(false);
    for (const f of [pki.serverKeyFile, pki.clientKeyFile, join(dir, "ca.key")]) expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it("keeps an existing PKI (the local stack's survives restarts), makes a new one when asked", () => {
    const before = readFileSync(pki.caFile, "utf8");
    expect(readFileSync(generateLocalPki(dir, { renewWithinDays: 1 }).caFile, "utf8")).toBe(before);
    expect(readFileSync(generateLocalPki(dir, { reuse: false, days: 2 }).caFile, "utf8")).not.toBe(before);
  });

  it("makes the PKI again when a certificate expires within the renewal window (or does not parse)", () => {
    const before = readFileSync(pki.caFile, "utf8");
    // Valid for 2 days: inside the default 30-day window, so a start renews it.
    const renewed = generateLocalPki(dir, { days: 2 });
    const after = readFileSync(renewed.caFile, "utf8");
    expect(after).not.toBe(before);
    expect(new X509Certificate(readFileSync(renewed.serverCertFile)).verify(new X509Certificate(after).publicKey)).toBe(true);
    writeFileSync(renewed.clientCertFile, "not a certificate");
    expect(readFileSync(generateLocalPki(dir, { days: 2, renewWithinDays: 1 }).caFile, "utf8")).not.toBe(after);
  });
});
