/**
 * `node --import tsx src/adapters/pki/local-pki.main.ts DIR`: makes (or keeps) the local PKI in DIR
 * with {@link generateLocalPki}, so the bash local stack (deploy/local/lib/services.sh) uses the
 * same generator as Shoal and its tests. Prints nothing on success; exit 1 with the reason otherwise.
 */
import { generateLocalPki } from "./local-pki.js";

const dir = process.argv[2];
if (dir === undefined || dir === "") {
  process.stderr.write("usage: local-pki.main.ts DIR\n");
  process.exit(2);
}
try {
  generateLocalPki(dir);
} catch (e) {
  process.stderr.write(`local PKI in ${dir}: ${(e as Error).message}\n`);
  process.exit(1);
}
