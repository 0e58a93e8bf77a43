import { describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { ShoalError } from "../base/errors.js";
import { channelCredentials, nodeTlsOptions, schemeOf, serverCredentials, type TlsSettings } from "./tls.js";

const off: TlsSettings = { enabled: false, certFile: "", keyFile: "", caFile: "", requireClientCert: false, clientCertFile: "", clientKeyFile: "", serverName: "" };

describe("tls settings", () => {
  it("disabled: insecure credentials, no node options, http", () => {
    expect(serverCredentials(off)._isSecure()).toBe(false);
    expect(channelCredentials(off)._isSecure()).toBe(false);
    expect(nodeTlsOptions(off, "server")).toBeUndefined();
    expect(nodeTlsOptions(off, "client")).toBeUndefined();
    expect(schemeOf(off)).toBe("http");
    expect(serverCredentials(off)).toBeInstanceOf(grpc.ServerCredentials);
  });

  it("a missing file is config_invalid naming the path", () => {
    const bad = { ...off, enabled: true, certFile: "/nonexistent/shoal/server.crt", keyFile: "/nonexistent/shoal/server.key" };
    let err: unknown;
    try {
      serverCredentials(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ShoalError);
    expect((err as ShoalError).code).toBe("config_invalid");
    expect((err as ShoalError).message).toContain("/nonexistent/shoal/server.crt");
    expect(() => channelCredentials({ ...off, enabled: true, caFile: "/nonexistent/ca.pem" })).toThrow(/\/nonexistent\/ca\.pem/);
    expect(schemeOf({ ...off, enabled: true })).toBe("https");
  });

  it("enabled without a cert file says which key is missing", () => {
    expect(() => serverCredentials({ ...off, enabled: true })).toThrow(/tls\.certFile is required/);
  });
});
