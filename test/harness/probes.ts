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

const clientId = Buffer.from("shoal-hc");
/** MQTT 3.1.1 CONNECT, clean session, keep-alive 60 s, client id "shoal-hc". */
const mqttConnect = Buffer.concat([
  Buffer.from([0x10, 10 + 2 + clientId.length, 0x00, 0x04]),
  Buffer.from("MQTT"),
  Buffer.from([0x04, 0x02, 0x00, 0x3c, 0x00, clientId.length]),
  clientId,
]);

/** The broker accepts an MQTT connection: CONNACK with return code 0 (a TCP accept is not enough). */
export async function mqttConnack(port: number): Promise<boolean> {
  const reply = await tcpExchange(port, mqttConnect, 4);
  return reply !== undefined && reply.length === 4 && reply[0] === 0x20 && reply[1] === 0x02 && reply[3] === 0x00;
}
