import { request } from "node:http";
import { connect } from "node:net";

/**
 * Health probes. Each one opens its own short connection (no keep-alive agent, so nothing
 * lingers on the server after a probe) and resolves within `timeoutMs`; failures resolve
 * to `false`/`undefined` rather than throwing, since they are polled.
 */

/** GET over HTTP/1.1 with `Connection: close`; the status and body, or undefined. */
export function httpGet(url: string, timeoutMs = 2_000): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, headers: { connection: "close" }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", () => resolve(undefined));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(undefined));
    req.end();
  });
}

/**
 * Sends `payload` on a fresh TCP connection and resolves with the first `want` bytes of the
 * answer (or fewer, if the server closed), or undefined on error/timeout.
 */
export function tcpExchange(port: number, payload: Buffer, want: number, timeoutMs = 2_000): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let got = 0;
    let done = false;
    const socket = connect({ port, host: "127.0.0.1" });
    const finish = (value: Buffer | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    socket.once("connect", () => socket.write(payload));
    socket.on("data", (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (got >= want) finish(Buffer.concat(chunks).subarray(0, want));
    });
    socket.once("end", () => finish(got > 0 ? Buffer.concat(chunks) : undefined));
    socket.once("error", () => finish(undefined));
  });
}

/** Redis answers an inline PING with +PONG. */
export async function redisPing(port: number): Promise<boolean> {
  const reply = await tcpExchange(port, Buffer.from("PING\r\n"), 5);
  return reply?.toString("latin1") === "+PONG";
}

/** A length-prefixed MQTT string. */
function mqttString(s: string): Buffer {
  const b = Buffer.from(s, "utf8");
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
}

/** MQTT 3.1.1 CONNECT, clean session, keep-alive 60 s, client id "shoal-hc", with credentials when given. */
function mqttConnectPacket(credentials?: { username: string; password: string }): Buffer {
  const flags = 0x02 | (credentials ? 0xc0 : 0);
  const body = Buffer.concat([
    mqttString("MQTT"),
    Buffer.from([0x04, flags, 0x00, 0x3c]),
    mqttString("shoal-hc"),
    ...(credentials ? [mqttString(credentials.username), mqttString(credentials.password)] : []),
  ]);
  const len: number[] = [];
  for (let n = body.length; ; ) {
    const byte = n % 128;
    n = Math.floor(n / 128);
    len.push(n > 0 ? byte | 0x80 : byte);
    if (n === 0) break;
  }
  return Buffer.concat([Buffer.from([0x10, ...len]), body]);
}

const mqttConnect = mqttConnectPacket();

/**
 * The broker accepts an MQTT connection: CONNACK with return code 0 (a TCP accept is not enough).
 * With `credentials`, connects as that user (a broker that allows no anonymous clients).
 */
export async function mqttConnack(port: number, credentials?: { username: string; password: string }): Promise<boolean> {
  const reply = await tcpExchange(port, credentials ? mqttConnectPacket(credentials) : mqttConnect, 4);
  return reply !== undefined && reply.length === 4 && reply[0] === 0x20 && reply[1] === 0x02 && reply[3] === 0x00;
}
