import { readFileSync } from "node:fs";
import { ShoalError } from "../../base/errors.js";

/**
 * `mqtt.tls`: how Shoal's MQTT clients (bridge, broker watch, downlink, simulator) verify an
 * `mqtts://` broker and, for mutual TLS, which certificate they present. Files are PEM paths
 * (never the keys themselves, so no secret sits in the config or its logs).
 */
export interface MqttTlsConfig {
  /** CA bundle that verifies the broker's certificate. "" = Node's built-in CAs. */
  readonly caFile: string;
  /** Client certificate for a broker with `require_certificate true`. "" = none. */
  readonly certFile: string;
  /** Private key of `certFile`. */
  readonly keyFile: string;
  /** Name the broker's certificate is verified against instead of the URL's host. "" = the host. */
  readonly serverName: string;
  /** Refuse a broker whose certificate does not verify. Default true; false only for a throwaway test broker. */
  readonly rejectUnauthorized: boolean;
}

/** The TLS fields of mqtt.js' connect options (passed through to `tls.connect`). */
export interface MqttTlsConnectOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  servername?: string;
  rejectUnauthorized: boolean;
}

/**
 * mqtt.js connect options for `tls`, files read now (once, at start). Returns `{}` for a plaintext
 * URL (`mqtt://`, `tcp://`, `ws://`) so the same config works for both listeners.
 * @throws ShoalError "config_invalid" when a file cannot be read or only one of certFile/keyFile is set.
 */
export function mqttTlsOptions(url: string, tls: Partial<MqttTlsConfig> | undefined): MqttTlsConnectOptions | Record<string, never> {
  if (!/^(mqtts|ssl|wss):/i.test(url) || tls === undefined) return {};
  const certFile = tls.certFile ?? "";
  const keyFile = tls.keyFile ?? "";
  if ((certFile === "") !== (keyFile === "")) throw new ShoalError("mqtt.tls.certFile and mqtt.tls.keyFile go together", { code: "config_invalid" });
  const read = (field: string, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new ShoalError(`mqtt.tls.${field}: cannot read ${path}`, { code: "config_invalid", cause: e });
    }
  };
  const out: MqttTlsConnectOptions = { rejectUnauthorized: tls.rejectUnauthorized ?? true };
  if ((tls.caFile ?? "") !== "") out.ca = read("caFile", tls.caFile ?? "");
  if (certFile !== "") {
    out.cert = read("certFile", certFile);
    out.key = read("keyFile", keyFile);
  }
  if ((tls.serverName ?? "") !== "") out.servername = tls.serverName;
  return out;
}
