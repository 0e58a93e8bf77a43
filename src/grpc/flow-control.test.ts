import { connect, type ClientHttp2Session } from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { createGrpcServer } from "./malformed-request.js";
import { widenFlowControlWindows } from "./flow-control.js";

/** The SETTINGS a client sees from a grpc-js server on 127.0.0.1:`port`. */
async function remoteSettings(port: number): Promise<{ initialWindowSize: number | undefined }> {
  const session: ClientHttp2Session = connect(`http://127.0.0.1:${port}`);
  try {
    await new Promise<void>((resolve, reject) => {
      session.once("remoteSettings", () => resolve());
      session.once("error", reject);
    });
    // The server sends its widened SETTINGS in a frame of its own once the session exists; a PING's
    // answer comes after anything it sent before it, so the settings read then are final.
    await new Promise<void>((resolve, reject) => session.ping((err) => (err ? reject(err) : resolve())));
    return { initialWindowSize: session.remoteSettings.initialWindowSize };
  } finally {
    session.close();
  }
}

async function bound(widen: number | undefined): Promise<{ server: grpc.Server; port: number }> {
  const server = createGrpcServer();
  const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  if (widen !== undefined) widenFlowControlWindows(server, widen);
  return { server, port };
}

describe("widenFlowControlWindows", () => {
  const servers: grpc.Server[] = [];
  afterAll(() => servers.forEach((s) => s.forceShutdown()));
  let plain: number;
  let wide: number;
  beforeAll(async () => {
    const a = await bound(undefined);
    const b = await bound(1024 * 1024);
    servers.push(a.server, b.server);
    plain = a.port;
    wide = b.port;
  });

  it("makes a grpc-js server advertise the window asked for (Node's default is 64 KiB)", async () => {
    expect((await remoteSettings(wide)).initialWindowSize).toBe(1024 * 1024);
  });

  it("changes nothing on a server it was not called for", async () => {
    expect((await remoteSettings(plain)).initialWindowSize).toBe(65_535);
  });
});
