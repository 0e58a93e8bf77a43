import { fileURLToPath } from "node:url";
import { join } from "node:path";

/** Repository root (this file lives in test/harness/). */
export const repoRoot: string = fileURLToPath(new URL("../../", import.meta.url));

/** Config templates shared with deploy/local/stack.sh. */
export const templatesDir: string = join(repoRoot, "deploy", "local", "templates");

/** Where `npm run stack -- install` unpacks Debian 11's consul. */
export const consulPkgBin: string = join(repoRoot, ".shoal", "pkgs", "consul", "usr", "bin", "consul");
