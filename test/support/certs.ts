import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateLocalPki, type LocalPki } from "../../src/adapters/pki/local-pki.js";

/** PEM paths of a generated test PKI (src/adapters/pki/local-pki.ts, the one generator) plus its removal. */
export interface TestCerts extends LocalPki {
  cleanup(): void;
}

/** Generates the test PKI into a fresh temp dir: certificates valid 2 days, the same generator as the local stack. */
export function generateTestCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), "shoal-certs-"));
  return { ...generateLocalPki(dir, { days: 2, reuse: false }), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
