import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { createClient, type ServiceImpl } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { DEFAULT_ADMIN_POLICY, startAdminServer, type AdminServer } from "../../src/admin/admin-server.js";
import { createAdminClient } from "../../src/admin/client.js";
import { grpcTransportFor } from "../../src/cli/transport.js";
import { run as cluster } from "../../src/cli/cluster.command.js";
import * as pb from "../../src/gen/shoal/v1/admin_pb.js";
import type { QueryService } from "../../src/gen/shoal/v1/query_pb.js";
import { startQueryServer, type QueryServer } from "../../src/query/server.js";
import { channelCredentials, channelOptions, nodeTlsOptions, serverCredentials, type TlsSettings } from "../../src/grpc/tls.js";
import { startWebServer, webService, type WebServer } from "../../src/grpc/web-server.js";
import { generateTestCerts, type TestCerts } from "../support/certs.js";

const off: TlsSettings = { enabled: false, certFile: "", keyFile: "", caFile: "", requireClientCert: false, clientCertFile: "", clientKeyFile: "", serverName: "" };

/** grpc.health.v1.Health/Check of "" with raw bytes: resolves with the response bytes (SERVING = 08 01). */
function healthCheck(address: string, creds: grpc.ChannelCredentials, options: grpc.ChannelOptions = {}): Promise<Buffer> {
  const client = new grpc.Client(address, creds, options);
  return new Promise<Buffer>((resolve, reject) => {
    client.makeUnaryRequest(
      "/grpc.health.v1.Health/Check",
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.alloc(0),
      new grpc.Metadata(),
      { deadline: new Date(Date.now() + 5_000) },
      (e, r) => (e ? reject(e) : resolve(r!)),
    );
  }).finally(() => client.close());
}

const getInfo = async () => create(pb.GetInfoResponseSchema, { nodeId: "tls-node" });
const listMembers = async () => create(pb.ListMembersResponseSchema, { members: [{ nodeId: "tls-node", session: "s", startedAtMs: 1_796_000_000_000n, pid: 42, ownedPartitions: 1, targetPartitions: 1 }] });
const getPartitionMap = async () => create(pb.GetPartitionMapResponseSchema, { partitions: [{ partition: 0, owner: "tls-node", target: "tls-node", pending: 0n, ackPending: 0n }] });

describe("TLS and mutual TLS on the gRPC ports", () => {
  let certs: TestCerts;
  let serverTls: TlsSettings;
  let mtls: TlsSettings;
  let query: QueryServer;
  let admin: AdminServer;
  let web: WebServer;

  beforeAll(async () => {
    certs = generateTestCerts();
    serverTls = { ...off, enabled: true, certFile: certs.serverCertFile, keyFile: certs.serverKeyFile, caFile: certs.caFile };
    mtls = { ...serverTls, requireClientCert: true };
    query = await startQueryServer({} as ServiceImpl<typeof QueryService>, { host: "127.0.0.1", port: 0, policy: DEFAULT_ADMIN_POLICY, credentials: serverCredentials(serverTls) });
    admin = await startAdminServer({ getInfo, listMembers, getPartitionMap } as unknown as ServiceImpl<typeof pb.AdminService>, { host: "127.0.0.1", port: 0, initiallyServing: true, credentials: serverCredentials(mtls) });
    web = await startWebServer([webService(pb.AdminService, { getInfo } as unknown as ServiceImpl<typeof pb.AdminService>)], { host: "127.0.0.1", port: 0, policy: DEFAULT_ADMIN_POLICY, tls: serverTls });
  }, 60_000);

  afterAll(async () => {
    await Promise.all([query?.close(0), admin?.close(0), web?.close()]);
    certs?.cleanup();
  });

  it("a TLS client trusting the CA gets SERVING from the query port", async () => {
    expect([...(await healthCheck(query.address, channelCredentials(serverTls)))]).toEqual([8, 1]);
  });

  it("serverName overrides the name checked (localhost is in the SAN)", async () => {
    const tls = { ...serverTls, serverName: "localhost" };
    expect([...(await healthCheck(query.address, channelCredentials(tls), channelOptions(tls)))]).toEqual([8, 1]);
  });

  it("a plaintext client is refused", async () => {
    await expect(healthCheck(query.address, grpc.credentials.createInsecure())).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
  });

  it("a client that does not trust the server's CA is refused", async () => {
    await expect(healthCheck(query.address, channelCredentials({ ...serverTls, caFile: certs.otherCaFile }))).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
  });

  it("mutual TLS: the admin port refuses a client without a certificate and serves one with it", async () => {
    await expect(healthCheck(admin.address, channelCredentials(serverTls))).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    const withCert = { ...serverTls, clientCertFile: certs.clientCertFile, clientKeyFile: certs.clientKeyFile };
    expect([...(await healthCheck(admin.address, channelCredentials(withCert)))]).toEqual([8, 1]);
    const client = createAdminClient(admin.address, { tls: withCert, timeoutMs: 5_000 });
    try {
      expect((await client.getInfo()).nodeId).toBe("tls-node");
    } finally {
      client.close();
    }
  });

  it("shoal cluster status --admin reads the TLS settings (SHOAL__TLS__*) and works over mutual TLS; without them it is refused", async () => {
    let out = "";
    let err = "";
    const io = { stdout: (s: string) => void (out += s), stderr: (s: string) => void (err += s) };
    const tlsEnv = { SHOAL_ENV: "test", SHOAL__TLS__ENABLED: "true", SHOAL__TLS__CAFILE: certs.caFile, SHOAL__TLS__CLIENTCERTFILE: certs.clientCertFile, SHOAL__TLS__CLIENTKEYFILE: certs.clientKeyFile, SHOAL__TLS__CERTFILE: certs.serverCertFile, SHOAL__TLS__KEYFILE: certs.serverKeyFile };
    expect(await cluster(["status", "--admin", admin.address], { ...io, env: tlsEnv })).toBe(0);
    expect(out).toMatch(/^members: 1 {3}partitions: 1 {3}misplaced: 0 \(converged\)/);
    expect(out).toContain("tls-node");
    out = "";
    expect(await cluster(["status", "--admin", admin.address], { ...io, env: { SHOAL_ENV: "test" } })).toBe(1);
    expect(err).toMatch(/UNAVAILABLE/);
  });

  it("the console web port serves gRPC over h2 and Connect over HTTP/1.1 with TLS", async () => {
    expect(web.url.startsWith("https://")).toBe(true);
    const address = web.url.slice("https://".length);
    const overGrpc = createClient(pb.AdminService, grpcTransportFor(address, serverTls));
    expect((await overGrpc.getInfo({})).nodeId).toBe("tls-node");
    const overConnect = createClient(pb.AdminService, createConnectTransport({ baseUrl: web.url, httpVersion: "1.1", nodeOptions: nodeTlsOptions(serverTls, "client") }));
    expect((await overConnect.getInfo({})).nodeId).toBe("tls-node");
    const untrusted = createClient(pb.AdminService, createConnectTransport({ baseUrl: web.url, httpVersion: "1.1", nodeOptions: nodeTlsOptions({ ...serverTls, caFile: certs.otherCaFile }, "client") }));
    await expect(untrusted.getInfo({})).rejects.toThrow();
  });

  it("python3-grpcio calls Health.Check over TLS with the CA", async () => {
    const script = join(certs.dir, "health_tls.py");
    writeFileSync(
      script,
      [
        "import sys, grpc",
        "address, ca = sys.argv[1], sys.argv[2]",
        "creds = grpc.ssl_channel_credentials(root_certificates=open(ca, 'rb').read())",
        "with grpc.secure_channel(address, creds) as ch:",
        "    check = ch.unary_unary('/grpc.health.v1.Health/Check')",
        "    print(check(b'', timeout=10).hex())",
        "",
      ].join("\n"),
    );
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn("/usr/bin/python3", [script, query.address, certs.caFile], { stdio: ["ignore", "pipe", "pipe"] });
      let o = "";
      let err = "";
      p.stdout.on("data", (d: Buffer) => (o += d.toString()));
      p.stderr.on("data", (d: Buffer) => (err += d.toString()));
      p.on("exit", (code) => (code === 0 ? resolve(o.trim()) : reject(new Error(`python exited ${code}: ${err}`))));
    });
    expect(out).toBe("0801");
  });
});
