import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ShoalError } from "../../base/errors.js";

/**
 * PEM paths of a local PKI: a CA, a server certificate for 127.0.0.1 / localhost and a client
 * certificate (both signed by the CA), and a second CA that signed nothing (a peer trusting only it
 * must fail). Private keys are mode 0600. Made for local runs and tests only: real deployments
 * bring their own certificates (docs/tls.md).
 */
export interface LocalPki {
  readonly dir: string;
  readonly caFile: string;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  readonly otherCaFile: string;
}

/** Options of {@link generateLocalPki}. */
export interface LocalPkiOptions {
  /** Validity of every certificate in days. Default 825 (the local stack); tests use 2. */
  readonly days?: number;
  /** Keep an existing PKI in `dir` (all files present) instead of making a new one. Default true. */
  readonly reuse?: boolean;
  /**
   * An existing PKI whose certificates expire within this many days (or have already, or do not
   * parse) is made again instead of kept. Default 30.
   */
  readonly renewWithinDays?: number;
}

const openssl = (dir: string, args: readonly string[]): void => {
  try {
    execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  } catch (e) {
    throw new ShoalError(`openssl ${args[0] ?? ""} failed (Debian package openssl)`, { code: "unavailable", cause: e });
  }
};

/** The file paths of a PKI in `dir` (made or not). */
export function localPkiPaths(dir: string): LocalPki {
  return {
    dir,
    caFile: join(dir, "ca.crt"),
    otherCaFile: join(dir, "other-ca.crt"),
    serverCertFile: join(dir, "server.crt"),
    serverKeyFile: join(dir, "server.key"),
    clientCertFile: join(dir, "client.crt"),
    clientKeyFile: join(dir, "client.key"),
  };
}

/**
 * Makes the local PKI in `dir` (created 0700) with Debian's `openssl` CLI, EC P-256 keys (fast),
 * or keeps the one already there. The one generator of the repository: the local stack
 * (`shoal stack`, deploy/local/stack.sh) and the tests (test/support/certs.ts) both call it.
 * @throws ShoalError (code "unavailable") when openssl is missing or fails.
 */
export function generateLocalPki(dir: string, o: LocalPkiOptions = {}): LocalPki {
  const paths = localPkiPaths(dir);
  const files = [paths.caFile, paths.otherCaFile, paths.serverCertFile, paths.serverKeyFile, paths.clientCertFile, paths.clientKeyFile];
  if ((o.reuse ?? true) && files.every((f) => existsSync(f)) && validFor(paths, o.renewWithinDays ?? 30)) return paths;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const days = String(o.days ?? 825);
  const key = (name: string) => {
    openssl(dir, ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}.key`]);
    chmodSync(join(dir, `${name}.key`), 0o600);
  };
  const ca = (name: string) => {
    key(name);
    openssl(dir, ["req", "-x509", "-new", "-key", `${name}.key`, "-sha256", "-days", days, "-subj", `/CN=shoal-local-${name}`, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", `${name}.crt`]);
  };
  const leaf = (name: string, ext: string) => {
    key(name);
    openssl(dir, ["req", "-new", "-key", `${name}.key`, "-subj", `/CN=${name === "server" ? "localhost" : "shoal-local-client"}`, "-out", `${name}.csr`]);
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(dir, ["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", days, "-sha256", "-extfile", `${name}.ext`, "-out", `${name}.crt`]);
    rmSync(join(dir, `${name}.csr`), { force: true });
    rmSync(join(dir, `${name}.ext`), { force: true });
  };
  ca("ca");
  ca("other-ca");
  leaf("server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n");
  leaf("client", "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n");
  return paths;
}

/** Whether every certificate of `pki` parses and is still valid `days` days from now. */
function validFor(pki: LocalPki, days: number): boolean {
  const until = Date.now() + days * 86_400_000;
  try {
    return [pki.caFile, pki.otherCaFile, pki.serverCertFile, pki.clientCertFile].every((f) => Date.parse(new X509Certificate(readFileSync(f)).validTo) > until);
  } catch {
    return false;
  }
}
