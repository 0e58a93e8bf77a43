import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** PEM paths of a generated test PKI: a CA, a server cert (SAN 127.0.0.1, localhost) and a client cert, both signed by the CA. */
export interface TestCerts {
  readonly dir: string;
  readonly caFile: string;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  /** A second CA that signed nothing here (a client trusting only it must fail). */
  readonly otherCaFile: string;
  cleanup(): void;
}

const openssl = (dir: string, args: readonly string[]) => void execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });

/** Generates the test PKI with Debian's `openssl` CLI into a fresh temp dir (EC P-256 keys: fast). */
export function generateTestCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), "shoal-certs-"));
  const key = (name: string) => openssl(dir, ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}.key`]);
  const ca = (name: string) => {
    key(name);
    openssl(dir, ["req", "-x509", "-new", "-key", `${name}.key`, "-sha256", "-days", "2", "-subj", `/CN=${name}`, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", `${name}.crt`]);
  };
  const leaf = (name: string, ext: string) => {
    key(name);
    openssl(dir, ["req", "-new", "-key", `${name}.key`, "-subj", `/CN=${name}`, "-out", `${name}.csr`]);
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(dir, ["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-sha256", "-extfile", `${name}.ext`, "-out", `${name}.crt`]);
  };
  ca("ca");
  ca("other-ca");
  leaf("server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n");
  leaf("client", "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n");
  return {
    dir,
    caFile: join(dir, "ca.crt"),
    otherCaFile: join(dir, "other-ca.crt"),
    serverCertFile: join(dir, "server.crt"),
    serverKeyFile: join(dir, "server.key"),
    clientCertFile: join(dir, "client.crt"),
    clientKeyFile: join(dir, "client.key"),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
